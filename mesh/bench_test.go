package mesh

import (
	"context"
	"testing"
)

func BenchmarkLocalStart(b *testing.B) {
	r := newRoot(b)
	ctx := context.Background()
	for b.Loop() {
		c, err := r.Local(ctx, LocalOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Call(ctx, "test.nothing", struct{}{}, nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = c.Shutdown(ctx)
		b.StartTimer()
	}
}

func BenchmarkCallRTT(b *testing.B) {
	r := newRoot(b)
	c := localChild(b, r, "rtt")
	ctx := context.Background()
	for b.Loop() {
		if err := c.Call(ctx, "test.nothing", struct{}{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallPipelined(b *testing.B) {
	r := newRoot(b)
	c := localChild(b, r, "pipe")
	ctx := context.Background()
	const window = 256
	ps := make([]*Pending, 0, window)
	b.ReportAllocs()
	for b.Loop() {
		if len(ps) == window {
			for _, p := range ps {
				if err := p.Wait(ctx, nil); err != nil {
					b.Fatal(err)
				}
			}
			ps = ps[:0]
		}
		ps = append(ps, c.CallAsync(ctx, "test.nothing", struct{}{}))
	}
	for _, p := range ps {
		if err := p.Wait(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func init() {
	// bench.sink receives raw chunks on a receiver and acknowledges each
	// window so that the sender never runs far ahead.
	Register("bench.sink", func(ctx context.Context, a struct {
		Ack SenderRef
		N   int
	}) (SenderRef, error) {
		r := FromContext(ctx)
		rc := r.NewReceiver(64)
		go func() {
			defer rc.Close()
			ack := r.Sender(a.Ack)
			var total int
			for {
				m, err := rc.Recv(context.Background())
				if err != nil {
					_ = ack.Send(total)
					return
				}
				total += len(m.Body)
			}
		}()
		return rc.Sender(), nil
	})
}

// BenchmarkBulk streams raw 256 KiB chunks to a local child.
func BenchmarkBulk(b *testing.B) {
	r := newRoot(b)
	c := localChild(b, r, "bulk")
	ctx := context.Background()
	ack := r.NewReceiver(1)
	defer ack.Close()
	var to SenderRef
	if err := c.Call(ctx, "bench.sink", struct {
		Ack SenderRef
		N   int
	}{ack.Sender(), 0}, &to); err != nil {
		b.Fatal(err)
	}
	s := r.Sender(to)
	chunk := make([]byte, 256<<10)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if err := s.SendBytes(chunk); err != nil {
			b.Fatal(err)
		}
	}
	_ = s.Close()
	m, err := ack.Recv(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var total int
	_ = m.Decode(&total)
	if total != b.N*len(chunk) {
		b.Fatalf("child got %d bytes, sent %d", total, b.N*len(chunk))
	}
}
