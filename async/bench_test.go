package async

import (
	"context"
	"sync"
	"testing"

	"github.com/muster-sh/muster/sched"
)

// BenchmarkGo measures a handle's whole cost: submit, run, lifecycle.
func BenchmarkGo(b *testing.B) {
	s, _ := sched.New(sched.Config{MaxWorkers: 64})
	defer s.Close(context.Background())
	var wg sync.WaitGroup
	fn := func(context.Context, *Reporter) (struct{}, error) { wg.Done(); return struct{}{}, nil }
	ctx := context.Background()
	b.ReportAllocs()
	wg.Add(b.N)
	b.ResetTimer()
	for range b.N {
		Go(ctx, s, fn)
	}
	wg.Wait()
}
