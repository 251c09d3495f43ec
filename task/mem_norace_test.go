//go:build !race

package task

import (
	"bytes"
	"context"
	"testing"

	"github.com/muster-sh/muster/worker"
)

// TestTenThousandNodesOneMiBEach: the requirement's full size through the
// engine, 10,000 nodes printing the same 1 MiB (16 lines of 64 KiB), 10 GiB
// in all; the results hold one copy. (Under the race detector this much
// copying is too slow; TestManyNodesIdenticalOutputMemory covers 256 KiB.)
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
	if got := w.OutputTree().Size(); got != 16*(len(line)-1) {
		t.Fatalf("tree holds %d bytes", got)
	}
	if ms.HeapAlloc > 256<<20 {
		t.Fatalf("heap %d bytes after 10,000 identical outputs of 1 MiB", ms.HeapAlloc)
	}
	for g := range w.Buffers() {
		if len(g.Keys()) != 10000 {
			t.Fatalf("group of %d nodes", len(g.Keys()))
		}
	}
}
