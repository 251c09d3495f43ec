package sched

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkSubmitTrivial measures submit → run → done for jobs that do
// nothing, with one producer and 64 workers.
func BenchmarkSubmitTrivial(b *testing.B) {
	for _, qs := range []int{DefaultQueueSize, -1} {
		name := "bounded"
		if qs < 0 {
			name = "unbounded"
		}
		b.Run(name, func(b *testing.B) {
			s, _ := New(Config{MaxWorkers: 64, QueueSize: qs})
			defer s.Close(context.Background())
			var left atomic.Int64
			var wg sync.WaitGroup
			job := Job(func(context.Context) {
				if left.Add(-1) == 0 {
					wg.Done()
				}
			})
			left.Store(int64(b.N))
			wg.Add(1)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.Submit(ctx, i%3-1, job)
			}
			wg.Wait()
		})
	}
}

// BenchmarkStats shows that Stats is cheap enough to call often.
func BenchmarkStats(b *testing.B) {
	s, _ := New(Config{MaxWorkers: 1, QueueSize: -1})
	defer s.Shutdown(context.Background())
	hold := make(chan struct{})
	defer close(hold)
	s.Submit(context.Background(), Normal, func(context.Context) { <-hold })
	for i := range 1000 {
		s.Submit(context.Background(), i%5-2, func(context.Context) {})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Stats()
	}
}
