package task

import (
	"bytes"
	"context"
	"testing"

	"github.com/muster-sh/muster/worker"
)

// TestTenThousandNodesOneMiBEach runs 10,000 nodes through the engine, each
// printing the same 1 MiB (16 lines of 64 KiB), 10 GiB in all, and proves
// that the results keep one copy: one output group of 10,000 nodes, a tree
// of 1 MiB, and a live heap after GC far below a single node's share of
// the total times the node count. HeapAlloc counts only the Go heap, so the
// race detector's shadow memory does not move the bound.
func TestTenThousandNodesOneMiBEach(t *testing.T) {
	line := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	line[len(line)-1] = '\n'
	d := driverFunc(func(ctx context.Context, s worker.Session) (worker.Status, error) {
		s.Started()
		for range 16 {
			s.Stdout().Write(line)
		}
		return worker.Exited(0), nil
	})
	tk := New()
	w := NewWorker(d, OnNodes(nodes(10000)...))
	tk.Schedule(w)
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ms runtime_MemStats
	readMem(&ms)
	t.Logf("heap after GC: %d bytes", ms.HeapAlloc)
	if got := w.OutputTree().Size(); got != 16*(len(line)-1) {
		t.Fatalf("tree holds %d bytes", got)
	}
	if ms.HeapAlloc > 64<<20 {
		t.Fatalf("heap %d bytes after 10,000 identical outputs of 1 MiB", ms.HeapAlloc)
	}
	for g := range w.Buffers() {
		if len(g.Keys()) != 10000 {
			t.Fatalf("group of %d nodes", len(g.Keys()))
		}
	}
}
