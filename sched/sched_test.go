package sched

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor polls cond until it holds; it fails the test after a generous
// bound. It never asserts how long anything took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func newSched(t *testing.T, cfg Config) *Scheduler {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// gate occupies the only worker until released.
func gate(t *testing.T, s *Scheduler) (release func()) {
	t.Helper()
	started := make(chan struct{})
	rel := make(chan struct{})
	if err := s.Submit(context.Background(), High+100, func(context.Context) {
		close(started)
		<-rel
	}); err != nil {
		t.Fatal(err)
	}
	<-started
	return func() { close(rel) }
}

type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) job(name string) Job {
	return func(context.Context) {
		r.mu.Lock()
		r.got = append(r.got, name)
		r.mu.Unlock()
	}
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func TestPriorityOrderOneWorker(t *testing.T) {
	s := newSched(t, Config{MaxWorkers: 1})
	release := gate(t, s)
	var r recorder
	ctx := context.Background()
	subs := []struct {
		prio int
		name string
	}{
		{Low, "low1"}, {Normal, "normal1"}, {High, "high1"}, {Low, "low2"},
		{7, "seven"}, {High, "high2"}, {-5, "minus5"}, {Normal, "normal2"}, {2, "two"},
	}
	for _, sub := range subs {
		if err := s.Submit(ctx, sub.prio, r.job(sub.name)); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.QueuedTotal != len(subs) {
		t.Fatalf("QueuedTotal = %d, want %d", st.QueuedTotal, len(subs))
	}
	wantQueued := []PriorityCount{{7, 1}, {2, 1}, {High, 2}, {Normal, 2}, {Low, 2}, {-5, 1}}
	if !slices.Equal(st.Queued, wantQueued) {
		t.Fatalf("Stats.Queued = %v, want %v", st.Queued, wantQueued)
	}
	release()
	want := []string{"seven", "two", "high1", "high2", "normal1", "normal2", "low1", "low2", "minus5"}
	waitFor(t, "all jobs", func() bool { return len(r.list()) == len(want) })
	if got := r.list(); !slices.Equal(got, want) {
		t.Fatalf("run order = %v, want %v", got, want)
	}
}

func TestFIFOWithinLevel(t *testing.T) {
	s := newSched(t, Config{MaxWorkers: 1, QueueSize: -1})
	release := gate(t, s)
	var r recorder
	var want []string
	for i := range 500 {
		name := fmt.Sprint(i)
		want = append(want, name)
		if err := s.Submit(context.Background(), Normal, r.job(name)); err != nil {
			t.Fatal(err)
		}
	}
	release()
	waitFor(t, "all jobs", func() bool { return len(r.list()) == len(want) })
	if got := r.list(); !slices.Equal(got, want) {
		t.Fatalf("run order differs from submit order: first %v", got[:10])
	}
}

func TestHighOvertakesBacklog(t *testing.T) {
	// A High job submitted behind a Low backlog is dispatched before every
	// Low job still queued. Jobs record their start under a lock. The first
	// two Low jobs hold both workers until the High job is queued; every
	// later Low job, once started, waits (bounded) until the High job has
	// run, so no timing lets more Low jobs start ahead of it: with a
	// correct queue at most one (popped by the other worker as the High
	// job is popped) starts before it.
	s := newSched(t, Config{MaxWorkers: 2, QueueSize: -1})
	var mu sync.Mutex
	var order []string
	start := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, name)
		return len(order)
	}
	highDone := make(chan struct{})
	hold := make(chan struct{})
	// One deadline for all waits, so a broken queue fails in about 10 s.
	giveUp, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var lowStarted atomic.Int64
	for range 1000 {
		s.Submit(context.Background(), Low, func(context.Context) {
			lowStarted.Add(1)
			if start("low") <= 2 {
				<-hold
				return
			}
			select {
			case <-highDone:
			case <-giveUp.Done():
			}
		})
	}
	waitFor(t, "two low jobs running", func() bool { return lowStarted.Load() == 2 })
	s.Submit(context.Background(), High, func(context.Context) {
		start("high")
		close(highDone)
	})
	close(hold)
	<-highDone
	waitFor(t, "backlog", func() bool { return s.Stats().Completed == 1001 })
	mu.Lock()
	defer mu.Unlock()
	if i := slices.Index(order, "high"); i < 0 || i > 3 {
		t.Fatalf("high job started at position %d of %d; want at most 3 low jobs before it (2 running + 1 popped alongside)", i, len(order))
	}
}

func TestGrowToMaxAndShrinkToMin(t *testing.T) {
	s := newSched(t, Config{MinWorkers: 1, MaxWorkers: 4, IdleTimeout: 20 * time.Millisecond})
	if st := s.Stats(); st.Workers != 1 {
		t.Fatalf("Workers after New = %d, want MinWorkers 1", st.Workers)
	}
	hold := make(chan struct{})
	for range 12 {
		if err := s.Submit(context.Background(), Normal, func(context.Context) { <-hold }); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "4 busy workers", func() bool {
		st := s.Stats()
		return st.Workers == 4 && st.Running == 4 && st.QueuedTotal == 8
	})
	close(hold)
	waitFor(t, "shrink to MinWorkers", func() bool {
		st := s.Stats()
		return st.Workers == 1 && st.Completed == 12
	})
	// The pool regrows on demand.
	hold2 := make(chan struct{})
	for range 4 {
		s.Submit(context.Background(), Normal, func(context.Context) { <-hold2 })
	}
	waitFor(t, "regrow", func() bool { return s.Stats().Running == 4 })
	if st := s.Stats(); st.Workers > 4 {
		t.Fatalf("Workers = %d exceeds MaxWorkers 4", st.Workers)
	}
	close(hold2)
}

func TestShrinkToZero(t *testing.T) {
	s := newSched(t, Config{MaxWorkers: 3, IdleTimeout: 5 * time.Millisecond})
	for range 30 {
		s.Submit(context.Background(), Normal, func(context.Context) {})
	}
	waitFor(t, "no workers", func() bool {
		st := s.Stats()
		return st.Completed == 30 && st.Workers == 0
	})
}

// starvationRun keeps one worker busy with a self-renewing stream of High
// jobs (each submits the next, two are always queued) and queues one Low job.
// It returns how many High jobs ran before the Low job, and whether the Low
// job ran while the stream was still going.
func starvationRun(t *testing.T, aging time.Duration, limit int) (highBefore int, ranDuringStream bool) {
	s := newSched(t, Config{MaxWorkers: 1, QueueSize: -1, Aging: aging})
	release := gate(t, s)
	var lowRan atomic.Bool
	var highs, highsAtLow atomic.Int64
	var streamOver atomic.Bool
	var highJob Job
	highJob = func(context.Context) {
		if n := highs.Add(1); n >= int64(limit) || lowRan.Load() {
			streamOver.Store(true)
			return
		}
		time.Sleep(50 * time.Microsecond)
		if err := s.TrySubmit(High, highJob); err != nil {
			t.Errorf("resubmit: %v", err)
		}
	}
	s.Submit(context.Background(), High, highJob)
	s.Submit(context.Background(), Low, func(context.Context) {
		highsAtLow.Store(highs.Load())
		ranDuringStream = !streamOver.Load()
		lowRan.Store(true)
	})
	s.Submit(context.Background(), High, highJob)
	release()
	waitFor(t, "low job", lowRan.Load)
	waitFor(t, "queue empty", func() bool { return s.Stats().QueuedTotal == 0 && s.Stats().Running == 0 })
	return int(highsAtLow.Load()), ranDuringStream
}

func TestNoAgingStarvesLow(t *testing.T) {
	// Control for TestAgingPreventsStarvation: strict priorities run the Low
	// job only once the High stream has stopped by itself.
	n, during := starvationRun(t, 0, 300)
	if during || n < 300 {
		t.Fatalf("without aging the Low job ran after %d High jobs (during stream: %v); want after all 300", n, during)
	}
}

func TestAgingPreventsStarvation(t *testing.T) {
	const limit = 1_000_000 // the stream is practically endless
	n, during := starvationRun(t, time.Millisecond, limit)
	if !during {
		t.Fatalf("with aging the Low job only ran after the High stream ended (%d High jobs)", n)
	}
	t.Logf("Low job ran after %d High jobs", n)
}

func TestPanicSurvival(t *testing.T) {
	var mu sync.Mutex
	var reports []*PanicError
	s := newSched(t, Config{MaxWorkers: 3, PanicHandler: func(p *PanicError) {
		mu.Lock()
		reports = append(reports, p)
		mu.Unlock()
	}})
	boom := errors.New("boom")
	for i := range 30 {
		s.Submit(context.Background(), Normal, func(context.Context) {
			if i%2 == 0 {
				panic(boom)
			}
			panic(fmt.Sprintf("panic %d", i))
		})
	}
	waitFor(t, "30 panics", func() bool { return s.Stats().Panicked == 30 })
	var ran atomic.Int64
	for range 10 {
		s.Submit(context.Background(), Normal, func(context.Context) { ran.Add(1) })
	}
	waitFor(t, "jobs after panics", func() bool { return ran.Load() == 10 && s.Stats().Completed == 10 })
	st := s.Stats()
	if st.Workers > 3 || st.Completed != 10 {
		t.Fatalf("after panics: Workers=%d Completed=%d, want <= 3 and 10", st.Workers, st.Completed)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 30 {
		t.Fatalf("handler saw %d panics, want 30", len(reports))
	}
	var withBoom int
	for _, p := range reports {
		if errors.Is(p, boom) {
			withBoom++
		}
		if !strings.Contains(string(p.Stack), "sched_test.go") {
			t.Fatalf("stack does not show the panicking job:\n%s", p.Stack)
		}
	}
	if withBoom != 15 {
		t.Fatalf("%d reports unwrap to the panic error, want 15", withBoom)
	}
}

func TestGoexitInJob(t *testing.T) {
	var goexits atomic.Int64
	s := newSched(t, Config{MaxWorkers: 2, PanicHandler: func(p *PanicError) {
		if p.Goexit {
			goexits.Add(1)
		}
	}})
	for range 10 {
		s.Submit(context.Background(), Normal, func(context.Context) { runtime.Goexit() })
	}
	var ran atomic.Int64
	for range 10 {
		s.Submit(context.Background(), Normal, func(context.Context) { ran.Add(1) })
	}
	waitFor(t, "jobs after Goexit", func() bool {
		return ran.Load() == 10 && goexits.Load() == 10 && s.Stats().Completed == 10
	})
	if goexits.Load() != 10 || s.Stats().Panicked != 10 {
		t.Fatalf("Goexit reports = %d, Panicked = %d, want 10 and 10", goexits.Load(), s.Stats().Panicked)
	}
	if w := s.Stats().Workers; w > 2 {
		t.Fatalf("Workers = %d, want <= 2", w)
	}
}

func TestCloseDrainsQueue(t *testing.T) {
	s, _ := New(Config{MaxWorkers: 2, QueueSize: -1})
	var ran atomic.Int64
	hold := make(chan struct{})
	for i := range 200 {
		s.Submit(context.Background(), i%3-1, func(context.Context) {
			<-hold
			ran.Add(1)
		})
	}
	closed := make(chan error)
	go func() { closed <- s.Close(context.Background()) }()
	accepted := 0 // TrySubmits that won the race with Close
	waitFor(t, "Close to reject submits", func() bool {
		err := s.TrySubmit(Normal, func(context.Context) {})
		if err == nil {
			accepted++
		}
		return errors.Is(err, ErrClosed)
	})
	if err := s.Submit(context.Background(), High, func(context.Context) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close = %v, want ErrClosed", err)
	}
	close(hold)
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
	if ran.Load() != 200 {
		t.Fatalf("%d jobs ran before Close returned, want 200", ran.Load())
	}
	st := s.Stats()
	if st.Workers != 0 || st.Completed != uint64(200+accepted) || st.Dropped != 0 {
		t.Fatalf("after Close: %+v", st)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

type droppable struct {
	ran, dropped *atomic.Int64
	err          *atomic.Value
}

func (d droppable) Run(context.Context) { d.ran.Add(1) }
func (d droppable) Drop(err error)      { d.dropped.Add(1); d.err.Store(err) }

func TestShutdownCancelsRunningAndDropsQueued(t *testing.T) {
	s, _ := New(Config{MaxWorkers: 2, QueueSize: -1})
	var cancelled atomic.Int64
	running := make(chan struct{}, 2)
	for range 2 {
		s.Submit(context.Background(), Normal, func(ctx context.Context) {
			running <- struct{}{}
			<-ctx.Done()
			cancelled.Add(1)
		})
	}
	<-running
	<-running
	var ran, dropped atomic.Int64
	var dropErr atomic.Value
	for range 50 {
		s.SubmitTask(context.Background(), Low, droppable{&ran, &dropped, &dropErr})
	}
	n, err := s.Shutdown(context.Background())
	if err != nil || n != 50 {
		t.Fatalf("Shutdown = %d, %v; want 50, nil", n, err)
	}
	if cancelled.Load() != 2 || ran.Load() != 0 || dropped.Load() != 50 {
		t.Fatalf("cancelled=%d ran=%d dropped=%d; want 2, 0, 50", cancelled.Load(), ran.Load(), dropped.Load())
	}
	if err, _ := dropErr.Load().(error); !errors.Is(err, ErrDropped) {
		t.Fatalf("Drop got %v, want ErrDropped", err)
	}
	if st := s.Stats(); st.Dropped != 50 || st.Workers != 0 {
		t.Fatalf("Stats after Shutdown: %+v", st)
	}
}

func TestCloseContextExpiryForcesShutdown(t *testing.T) {
	s, _ := New(Config{MaxWorkers: 1, QueueSize: -1})
	stuck := make(chan struct{})
	s.Submit(context.Background(), Normal, func(ctx context.Context) {
		close(stuck)
		<-ctx.Done()
	})
	<-stuck
	for range 7 {
		s.Submit(context.Background(), Normal, func(context.Context) {})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Close(ctx)
	var se *ShutdownError
	if !errors.As(err, &se) || se.Dropped != 7 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v; want *ShutdownError with 7 dropped wrapping context.Canceled", err)
	}
	<-s.Done()
}

func TestTrySubmitFull(t *testing.T) {
	s := newSched(t, Config{MaxWorkers: 1, QueueSize: 3})
	release := gate(t, s)
	for i := range 3 {
		if err := s.TrySubmit(Normal, func(context.Context) {}); err != nil {
			t.Fatalf("TrySubmit %d: %v", i, err)
		}
	}
	if err := s.TrySubmit(High, func(context.Context) {}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("TrySubmit on a full queue = %v, want ErrQueueFull", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.Submit(ctx, High, func(context.Context) {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Submit on a full queue with expiring ctx = %v, want DeadlineExceeded", err)
	}
	if st := s.Stats(); st.Blocked != 0 || st.QueuedTotal != 3 {
		t.Fatalf("abandoned submit left state behind: %+v", st)
	}
	release()
	waitFor(t, "drain", func() bool { return s.Stats().Completed == 4 })
	if err := s.TrySubmit(Normal, func(context.Context) {}); err != nil {
		t.Fatalf("TrySubmit after drain: %v", err)
	}
	if err := s.Submit(context.Background(), Normal, nil); !errors.Is(err, ErrNilJob) {
		t.Fatalf("Submit(nil) = %v, want ErrNilJob", err)
	}
}

func TestBlockedSubmittersAdmittedByPriority(t *testing.T) {
	s := newSched(t, Config{MaxWorkers: 1, QueueSize: 2})
	release := gate(t, s)
	var r recorder
	for i := range 2 {
		s.Submit(context.Background(), Low, r.job(fmt.Sprint("queued", i)))
	}
	var wg sync.WaitGroup
	block := func(prio int, name string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Submit(context.Background(), prio, r.job(name)); err != nil {
				t.Errorf("blocked Submit %s: %v", name, err)
			}
		}()
	}
	block(Low, "lowBlocked")
	waitFor(t, "1 blocked", func() bool { return s.Stats().Blocked == 1 })
	block(High, "highBlocked")
	waitFor(t, "2 blocked", func() bool { return s.Stats().Blocked == 2 })
	block(Normal, "normalBlocked")
	waitFor(t, "3 blocked", func() bool { return s.Stats().Blocked == 3 })
	release()
	wg.Wait()
	waitFor(t, "all ran", func() bool { return len(r.list()) == 5 })
	got := r.list()
	// The two queued Low jobs and the admitted ones interleave by priority
	// once admitted; blocked submitters are admitted High, Normal, Low.
	hi, no, lo := slices.Index(got, "highBlocked"), slices.Index(got, "normalBlocked"), slices.Index(got, "lowBlocked")
	if !(hi < no && no < lo) {
		t.Fatalf("run order %v: blocked submitters not admitted by priority", got)
	}
}

func TestCloseReleasesBlockedSubmitters(t *testing.T) {
	s, _ := New(Config{MaxWorkers: 1, QueueSize: 1})
	hold := make(chan struct{})
	s.Submit(context.Background(), Normal, func(context.Context) { <-hold })
	waitFor(t, "running", func() bool { return s.Stats().Running == 1 })
	s.Submit(context.Background(), Normal, func(context.Context) {})
	errs := make(chan error, 5)
	for range 5 {
		go func() { errs <- s.Submit(context.Background(), Normal, func(context.Context) {}) }()
	}
	waitFor(t, "5 blocked", func() bool { return s.Stats().Blocked == 5 })
	done := make(chan error)
	go func() { done <- s.Close(context.Background()) }()
	for range 5 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Submit during Close = %v, want ErrClosed", err)
		}
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := s.Stats().Completed; c != 2 {
		t.Fatalf("Completed = %d, want 2", c)
	}
}

func TestConcurrentSubmitters(t *testing.T) {
	s := newSched(t, Config{MaxWorkers: 8, QueueSize: 64})
	var ran atomic.Int64
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				prio := (p+i)%3 - 1
				if err := s.Submit(context.Background(), prio, func(context.Context) { ran.Add(1) }); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "all jobs", func() bool { return s.Stats().Completed == 16000 })
	st := s.Stats()
	if ran.Load() != 16000 {
		t.Fatalf("%d jobs ran, want 16000", ran.Load())
	}
	if st.Completed != 16000 || st.Wait.Count != 16000/waitSample {
		t.Fatalf("Stats = %+v", st)
	}
	if !(st.Wait.P50 <= st.Wait.P90 && st.Wait.P90 <= st.Wait.P99 && st.Wait.P99 <= st.Wait.Max) {
		t.Fatalf("wait percentiles not ordered: %+v", st.Wait)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{MinWorkers: -1},
		{MaxWorkers: -2},
		{MinWorkers: 5, MaxWorkers: 2},
		{IdleTimeout: -time.Second},
		{Aging: -1},
	}
	for _, c := range bad {
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig", c, err)
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.MaxWorkers != DefaultMaxWorkers() || c.IdleTimeout != DefaultIdleTimeout || c.QueueSize != DefaultQueueSize || c.MinWorkers != 0 {
		t.Fatalf("defaults = %+v", c)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for v := int64(1); v <= 1000; v++ {
		h.add(v * 1000) // 1 µs .. 1 ms
	}
	ws := h.stats()
	near := func(got time.Duration, want float64) bool {
		return float64(got) > want*0.93 && float64(got) < want*1.07
	}
	if ws.Count != 1000 || !near(ws.P50, 500e3) || !near(ws.P90, 900e3) || !near(ws.P99, 990e3) || ws.Max != time.Millisecond {
		t.Fatalf("stats = %+v", ws)
	}
	for i := range histBuckets - 8 { // the last 8 buckets hold values >= 2^63
		if got := histIndex(histValue(i)); got != i {
			t.Fatalf("histIndex(histValue(%d)) = %d", i, got)
		}
	}
}

func TestSubmitDoesNotAllocate(t *testing.T) {
	s := newSched(t, Config{MaxWorkers: 4, QueueSize: 1 << 16})
	ctx := context.Background()
	job := Job(func(context.Context) {})
	allocs := testing.AllocsPerRun(10000, func() {
		if err := s.Submit(ctx, Normal, job); err != nil {
			t.Fatal(err)
		}
	})
	waitFor(t, "drain", func() bool { return s.Stats().QueuedTotal == 0 })
	if allocs != 0 {
		t.Fatalf("Submit allocates %.2f times per job, want 0", allocs)
	}
}

// TestAccounting submits from many goroutines into a small queue, with
// submit contexts that expire, jobs that panic and an idle timeout short
// enough for workers to come and go, then closes (or shuts down while the
// submitters are still busy): every accepted job must be accounted for
// exactly once, as run, panicked or dropped.
func TestAccounting(t *testing.T) {
	for _, shutdown := range []bool{false, true} {
		t.Run(fmt.Sprint("shutdown=", shutdown), func(t *testing.T) { accounting(t, shutdown) })
	}
}

func accounting(t *testing.T, shutdown bool) {
	s, _ := New(Config{MinWorkers: 1, MaxWorkers: 5, QueueSize: 8, IdleTimeout: time.Millisecond, PanicHandler: func(*PanicError) {}})
	var accepted, ran, panicked atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 {
				job := Job(func(context.Context) {
					if i%7 == 0 {
						panicked.Add(1)
						panic("planned")
					}
					if i%50 == 0 {
						time.Sleep(100 * time.Microsecond)
					}
					ran.Add(1)
				})
				var err error
				switch i % 3 {
				case 0:
					err = s.TrySubmit(i%5-2, job)
				case 1:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(g*i%3)*time.Microsecond)
					err = s.Submit(ctx, i%5-2, job)
					cancel()
				default:
					err = s.Submit(context.Background(), i%5-2, job)
				}
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, ErrQueueFull), errors.Is(err, context.DeadlineExceeded):
				case shutdown && errors.Is(err, ErrClosed):
				default:
					t.Errorf("submit: %v", err)
				}
			}
		}()
	}
	if shutdown {
		waitFor(t, "some jobs", func() bool { return s.Stats().Completed > 100 })
		if _, err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	} else {
		wg.Wait()
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if int64(st.Completed) != ran.Load() || int64(st.Panicked) != panicked.Load() ||
		ran.Load()+panicked.Load()+int64(st.Dropped) != accepted.Load() || st.Workers != 0 || st.Blocked != 0 {
		t.Fatalf("accepted %d, ran %d, panicked %d; Stats %+v", accepted.Load(), ran.Load(), panicked.Load(), st)
	}
	t.Logf("accepted %d of 3200, dropped %d", accepted.Load(), st.Dropped)
}

func TestRingReleasesBurstMemory(t *testing.T) {
	var r ring
	for i := range 3 * keepSlots {
		r.push(item{enq: int64(i + 1)})
	}
	for i := range 3 * keepSlots {
		if it := r.pop(); it.enq != int64(i+1) {
			t.Fatalf("pop %d = %d, want FIFO order", i, it.enq)
		}
	}
	if r.buf != nil {
		t.Fatalf("empty ring kept %d slots after a burst", len(r.buf))
	}
	for i := range 10 {
		r.push(item{enq: int64(i + 1)})
	}
	for i := range 5 {
		r.pop()
		r.push(item{enq: int64(100 + i)})
	}
	if r.n != 10 || r.peek().enq != 6 {
		t.Fatalf("after reuse: n=%d head=%d", r.n, r.peek().enq)
	}
}

func TestShutdownForcesWaitingClose(t *testing.T) {
	s, _ := New(Config{MaxWorkers: 1})
	started := make(chan struct{})
	s.Submit(context.Background(), Normal, func(ctx context.Context) {
		close(started)
		<-ctx.Done()
	})
	<-started
	s.Submit(context.Background(), Normal, func(context.Context) {})
	closed := make(chan error)
	go func() { closed <- s.Close(context.Background()) }()
	queued := 1
	waitFor(t, "Close to begin", func() bool {
		err := s.TrySubmit(Normal, func(context.Context) {})
		if err == nil {
			queued++ // won the race with Close
		}
		return errors.Is(err, ErrClosed)
	})
	n, err := s.Shutdown(context.Background())
	if n != queued || err != nil {
		t.Fatalf("Shutdown = %d, %v; want %d, nil", n, err, queued)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close after a forcing Shutdown = %v, want nil", err)
	}
}
