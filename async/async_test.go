package async

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-sh/muster/sched"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newSched(t *testing.T, cfg sched.Config) *sched.Scheduler {
	t.Helper()
	s, err := sched.New(cfg)
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

func collectStates(c <-chan State) []State {
	var got []State
	for st := range c {
		got = append(got, st)
	}
	return got
}

// callbackLog records which callback ran and in which state the handle was.
type callbackLog struct {
	mu  sync.Mutex
	got []string
}

func (l *callbackLog) add(s string) {
	l.mu.Lock()
	l.got = append(l.got, s)
	l.mu.Unlock()
}

func (l *callbackLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

func withCallbacks[T any](l *callbackLog, h **Handle[T]) []Option {
	return []Option{
		OnSuccess(func(v T) { l.add("success in " + (*h).State().String()) }),
		OnFail(func(err error) { l.add("fail in " + (*h).State().String()) }),
		OnEnd(func() { l.add("end in " + (*h).State().String()) }),
	}
}

var (
	ranPath    = []State{Created, Running, Returned, Finishing, Closed}
	failedPath = []State{Created, Running, Failed, Finishing, Closed}
	neverPath  = []State{Created, Failed, Finishing, Closed}
)

func TestLifecycle(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 2})
	errBoom := errors.New("boom")
	cases := []struct {
		name      string
		fn        func(context.Context, *Reporter) (int, error)
		states    []State
		callbacks []string
		check     func(t *testing.T, v int, err error)
	}{
		{"success", func(context.Context, *Reporter) (int, error) { return 42, nil },
			ranPath, []string{"success in Returned", "end in Finishing"},
			func(t *testing.T, v int, err error) {
				if v != 42 || err != nil {
					t.Fatalf("Wait = %d, %v; want 42, nil", v, err)
				}
			}},
		{"error", func(context.Context, *Reporter) (int, error) { return 0, errBoom },
			failedPath, []string{"fail in Failed", "end in Finishing"},
			func(t *testing.T, v int, err error) {
				if !errors.Is(err, errBoom) {
					t.Fatalf("Wait error = %v, want errBoom", err)
				}
			}},
		{"panic", func(context.Context, *Reporter) (int, error) { panic("kaboom") },
			failedPath, []string{"fail in Failed", "end in Finishing"},
			func(t *testing.T, v int, err error) {
				var pe *sched.PanicError
				if !errors.As(err, &pe) || pe.Value != "kaboom" || !strings.Contains(string(pe.Stack), "async_test.go") {
					t.Fatalf("Wait error = %v, want *sched.PanicError with value and stack", err)
				}
			}},
		{"panic with error", func(context.Context, *Reporter) (int, error) { panic(errBoom) },
			failedPath, []string{"fail in Failed", "end in Finishing"},
			func(t *testing.T, v int, err error) {
				if !errors.Is(err, errBoom) {
					t.Fatalf("Wait error = %v, want to unwrap to errBoom", err)
				}
			}},
		{"goexit", func(context.Context, *Reporter) (int, error) { runtime.Goexit(); return 0, nil },
			failedPath, []string{"fail in Failed", "end in Finishing"},
			func(t *testing.T, v int, err error) {
				var pe *sched.PanicError
				if !errors.As(err, &pe) || !pe.Goexit {
					t.Fatalf("Wait error = %v, want a Goexit *sched.PanicError", err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log callbackLog
			var h *Handle[int]
			start := make(chan struct{})
			fn := func(ctx context.Context, r *Reporter) (int, error) {
				<-start
				return tc.fn(ctx, r)
			}
			h = Go(context.Background(), s, fn, withCallbacks(&log, &h)...)
			changes := h.Changes()
			close(start)
			v, err := h.Wait(context.Background())
			tc.check(t, v, err)
			if got := collectStates(changes); !slices.Equal(got, tc.states) {
				t.Fatalf("Changes = %v, want %v", got, tc.states)
			}
			if got := collectStates(h.Changes()); !slices.Equal(got, tc.states) {
				t.Fatalf("late Changes = %v, want %v", got, tc.states)
			}
			if got := log.list(); !slices.Equal(got, tc.callbacks) {
				t.Fatalf("callbacks = %v, want %v", got, tc.callbacks)
			}
			if h.State() != Closed {
				t.Fatalf("State after Wait = %v", h.State())
			}
			select {
			case <-h.Done():
			default:
				t.Fatal("Done not closed after Wait")
			}
		})
	}
}

func TestCancelWhileRunning(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 1})
	started := make(chan struct{})
	h := Go(context.Background(), s, func(ctx context.Context, _ *Reporter) (string, error) {
		close(started)
		<-ctx.Done()
		return "", ctx.Err()
	})
	changes := h.Changes()
	<-started
	h.Cancel()
	h.Cancel()
	if _, err := h.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if got := collectStates(changes); !slices.Equal(got, failedPath) {
		t.Fatalf("Changes = %v, want %v", got, failedPath)
	}
}

func TestCancelBeforeStart(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 1})
	hold := make(chan struct{})
	blocker := Go(context.Background(), s, func(context.Context, *Reporter) (int, error) { <-hold; return 0, nil })
	waitFor(t, "blocker running", func() bool { return blocker.State() == Running })
	var ran atomic.Bool
	var log callbackLog
	var h *Handle[int]
	h = Go(context.Background(), s, func(context.Context, *Reporter) (int, error) { ran.Store(true); return 1, nil },
		withCallbacks(&log, &h)...)
	changes := h.Changes()
	h.Cancel()
	if h.State() != Closed {
		t.Fatalf("State after Cancel of a queued job = %v, want Closed", h.State())
	}
	if _, err := h.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	close(hold)
	blocker.Wait(context.Background())
	waitFor(t, "queue drained", func() bool { st := s.Stats(); return st.QueuedTotal == 0 && st.Running == 0 })
	if ran.Load() {
		t.Fatal("a job cancelled while queued ran")
	}
	if got := collectStates(changes); !slices.Equal(got, neverPath) {
		t.Fatalf("Changes = %v, want %v", got, neverPath)
	}
	if got, want := log.list(), []string{"fail in Failed", "end in Finishing"}; !slices.Equal(got, want) {
		t.Fatalf("callbacks = %v, want %v", got, want)
	}
}

func TestShutdownDropsAndCancels(t *testing.T) {
	s, _ := sched.New(sched.Config{MaxWorkers: 1})
	started := make(chan struct{})
	running := Go(context.Background(), s, func(ctx context.Context, _ *Reporter) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	<-started
	queued := Go(context.Background(), s, func(context.Context, *Reporter) (int, error) { return 1, nil })
	n, err := s.Shutdown(context.Background())
	if n != 1 || err != nil {
		t.Fatalf("Shutdown = %d, %v; want 1, nil", n, err)
	}
	if _, err := running.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("running job: %v, want context.Canceled", err)
	}
	if _, err := queued.Wait(context.Background()); !errors.Is(err, sched.ErrDropped) {
		t.Fatalf("queued job: %v, want sched.ErrDropped", err)
	}
	if got := collectStates(queued.Changes()); !slices.Equal(got, neverPath) {
		t.Fatalf("dropped job Changes = %v, want %v", got, neverPath)
	}
	// Submitting to a closed scheduler fails the handle at once.
	var ended atomic.Bool
	h := Go(context.Background(), s, func(context.Context, *Reporter) (int, error) { return 1, nil }, OnEnd(func() { ended.Store(true) }))
	if h.State() != Closed || !ended.Load() {
		t.Fatalf("handle after submit to closed scheduler: %v, OnEnd ran %v", h.State(), ended.Load())
	}
	if _, err := h.Wait(context.Background()); !errors.Is(err, sched.ErrClosed) {
		t.Fatalf("Wait = %v, want sched.ErrClosed", err)
	}
}

func TestChangesSlowReader(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 4})
	const jobs = 200
	type pair struct {
		h *Handle[int]
		c []<-chan State
	}
	var all []pair
	for i := range jobs {
		h := Go(context.Background(), s, func(context.Context, *Reporter) (int, error) {
			if i%3 == 0 {
				return 0, errors.New("odd")
			}
			return i, nil
		})
		all = append(all, pair{h, []<-chan State{h.Changes(), h.Changes()}})
	}
	// Nobody reads until every job has closed: the jobs must not wait for us.
	for _, p := range all {
		p.h.Wait(context.Background())
	}
	for i, p := range all {
		want := ranPath
		if i%3 == 0 {
			want = failedPath
		}
		for _, c := range p.c {
			got := collectStates(c)
			// A job that was already Running when Changes was called
			// still replays from Created.
			if !slices.Equal(got, want) {
				t.Fatalf("job %d: Changes = %v, want %v", i, got, want)
			}
		}
	}
}

func TestChangesConcurrentReaders(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 2})
	var wg sync.WaitGroup
	for range 300 {
		h := Go(context.Background(), s, func(context.Context, *Reporter) (int, error) { return 1, nil })
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got := collectStates(h.Changes()); !slices.Equal(got, ranPath) {
					t.Errorf("Changes = %v, want %v", got, ranPath)
				}
			}()
		}
		wg.Add(1)
		go func() { // Done and Wait race with the transitions too
			defer wg.Done()
			<-h.Done()
			if v, err := h.Wait(context.Background()); v != 1 || err != nil || h.State() != Closed {
				t.Errorf("Wait = %d, %v in %v", v, err, h.State())
			}
		}()
	}
	wg.Wait()
}

func TestProgress(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 2})
	step := make(chan struct{})
	ack := make(chan struct{})
	h := Go(context.Background(), s, func(ctx context.Context, r *Reporter) (int, error) {
		for i := 10; i >= 0; i -= 5 { // counts down: the job picks the direction
			r.Report(float64(i), "left")
			ack <- struct{}{}
			<-step
		}
		r.Set(-1)
		return 0, nil
	})
	for _, want := range []float64{10, 5, 0} {
		<-ack
		if p := h.Progress(); p.Value != want || p.Message != "left" {
			t.Fatalf("Progress = %+v, want %v left", p, want)
		}
		if h.State() != Running {
			t.Fatalf("State = %v while reporting", h.State())
		}
		step <- struct{}{}
	}
	h.Wait(context.Background())
	if p := h.Progress(); p.Value != -1 || p.Message != "left" {
		t.Fatalf("final Progress = %+v", p)
	}
}

func TestRunAndPriority(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 1})
	v, err := Run(context.Background(), s, func(context.Context, *Reporter) (string, error) { return "ok", nil })
	if v != "ok" || err != nil {
		t.Fatalf("Run = %q, %v", v, err)
	}
	// Priority: with one busy worker, a High job overtakes Low ones.
	hold := make(chan struct{})
	blocker := Go(context.Background(), s, func(context.Context, *Reporter) (int, error) { <-hold; return 0, nil })
	waitFor(t, "blocker", func() bool { return blocker.State() == Running })
	var mu sync.Mutex
	var order []string
	rec := func(name string) func(context.Context, *Reporter) (int, error) {
		return func(context.Context, *Reporter) (int, error) {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return 0, nil
		}
	}
	low := Go(context.Background(), s, rec("low"), Priority(sched.Low))
	high := Go(context.Background(), s, rec("high"), Priority(sched.High))
	close(hold)
	low.Wait(context.Background())
	high.Wait(context.Background())
	if !slices.Equal(order, []string{"high", "low"}) {
		t.Fatalf("order = %v", order)
	}
	// Run gives up on ctx and cancels the job.
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var sawCancel atomic.Bool
	go func() { <-started; cancel() }()
	_, err = Run(ctx, s, func(jctx context.Context, _ *Reporter) (int, error) {
		close(started)
		<-jctx.Done()
		sawCancel.Store(true)
		return 0, jctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with cancelled ctx = %v", err)
	}
	waitFor(t, "job cancelled", sawCancel.Load)
}

func TestBackground(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 2})
	var log callbackLog
	double := Background(func(ctx context.Context, n int) (int, error) { return 2 * n, nil },
		On(s), OnSuccess(func(v int) { log.add("success") }), OnEnd(func() { log.add("end") }))
	h := double(21)
	if v, err := h.Wait(context.Background()); v != 42 || err != nil {
		t.Fatalf("Wait = %d, %v", v, err)
	}
	if got := log.list(); !slices.Equal(got, []string{"success", "end"}) {
		t.Fatalf("callbacks = %v", got)
	}

	var seen atomic.Pointer[Handle[struct{}]]
	count := BackgroundWithHandle(func(ctx context.Context, self *Handle[struct{}], users []string) (struct{}, error) {
		seen.Store(self)
		for i := range users {
			self.SetProgress(float64(len(users)-i-1), users[i])
		}
		return struct{}{}, nil
	}, On(s))
	h2 := count([]string{"ann", "bob"})
	h2.Wait(context.Background())
	if seen.Load() != h2 {
		t.Fatal("the function did not receive its own handle")
	}
	if p := h2.Progress(); p.Value != 0 || p.Message != "bob" {
		t.Fatalf("Progress = %+v", p)
	}
}

func TestOnSuccessTypeMismatch(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "func(int)") {
			t.Fatalf("recover = %v, want a message naming func(int)", r)
		}
	}()
	Background(func(context.Context, int) (int, error) { return 0, nil }, OnSuccess(func(string) {}))
}

func TestCallbackPanicDoesNotStopLifecycle(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 1})
	var ended atomic.Bool
	h := Go(context.Background(), s, func(context.Context, *Reporter) (int, error) { return 1, nil },
		OnSuccess(func(int) { panic("callback bug") }), OnEnd(func() { ended.Store(true) }))
	if v, err := h.Wait(context.Background()); v != 1 || err != nil || !ended.Load() {
		t.Fatalf("Wait = %d, %v; OnEnd ran: %v", v, err, ended.Load())
	}
}

func TestJobContext(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 1})
	h := Go(context.Background(), s, func(ctx context.Context, _ *Reporter) (int, error) {
		if ctx.Err() != nil {
			return 0, errors.New("fresh context already done")
		}
		if _, ok := ctx.Deadline(); ok {
			return 0, errors.New("unexpected deadline")
		}
		return 0, nil
	})
	if _, err := h.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Err and Done agree after Cancel, in either order of first use.
	started := make(chan struct{})
	step := make(chan struct{})
	h2 := Go(context.Background(), s, func(ctx context.Context, _ *Reporter) (int, error) {
		close(started)
		<-step
		if ctx.Err() == nil {
			return 0, errors.New("Err nil after Cancel")
		}
		select {
		case <-ctx.Done():
		default:
			return 0, errors.New("Done open after Cancel")
		}
		return 0, nil
	})
	<-started
	h2.Cancel()
	close(step)
	if _, err := h2.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestGoAllocations(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 4, QueueSize: 1 << 16})
	ctx := context.Background()
	fn := func(context.Context, *Reporter) (int, error) { return 1, nil }
	allocs := testing.AllocsPerRun(5000, func() {
		Go(ctx, s, fn)
	})
	waitFor(t, "drain", func() bool { st := s.Stats(); return st.QueuedTotal == 0 && st.Running == 0 })
	if allocs > 3 {
		t.Fatalf("Go allocates %.1f times per job, want <= 3", allocs)
	}
	t.Logf("Go: %.1f allocs per job", allocs)
}

// syncBuffer is a bytes.Buffer safe for a logger writing from a worker.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBackgroundLogsUnhandledFailure(t *testing.T) {
	var buf syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)

	s := newSched(t, sched.Config{MaxWorkers: 1})
	fail := Background(func(ctx context.Context, name string) (int, error) {
		return 0, errors.New("cannot reach " + name)
	}, On(s))
	fail("host1").Wait(context.Background())
	if got := buf.String(); !strings.Contains(got, "background job failed") || !strings.Contains(got, "cannot reach host1") {
		t.Fatalf("log = %q, want the failure logged", got)
	}
	// With an OnFail callback, the callback owns the error: nothing is logged.
	buf.mu.Lock()
	buf.b.Reset()
	buf.mu.Unlock()
	var handled atomic.Bool
	fail2 := Background(func(ctx context.Context, name string) (int, error) {
		return 0, errors.New("cannot reach " + name)
	}, On(s), OnFail(func(error) { handled.Store(true) }))
	fail2("host2").Wait(context.Background())
	if !handled.Load() || buf.String() != "" {
		t.Fatalf("OnFail ran: %v; log = %q, want empty", handled.Load(), buf.String())
	}
}

// TestLifecycleUnderChurn runs many jobs with every outcome (return, error,
// panic, cancel before or while running) and a forced shutdown in the
// middle, reading Changes from several goroutines: every handle must show
// one of the valid paths, consistent with its result and callbacks.
func TestLifecycleUnderChurn(t *testing.T) {
	s, _ := sched.New(sched.Config{MaxWorkers: 4, QueueSize: 32})
	const jobs = 600
	type rec struct {
		h              *Handle[int]
		success, fail  atomic.Int32
		end            atomic.Int32
		stateAtSuccess atomic.Int32
	}
	recs := make([]*rec, jobs)
	var wg sync.WaitGroup
	paths := make([][]State, jobs)
	for i := range jobs {
		r := &rec{}
		recs[i] = r
		ready := make(chan struct{}) // r.h is set: callbacks may use it
		fn := func(ctx context.Context, rep *Reporter) (int, error) {
			<-ready
			rep.Set(float64(i))
			switch i % 5 {
			case 0:
				return i, nil
			case 1:
				return 0, errors.New("error")
			case 2:
				panic("panic")
			case 3:
				<-ctx.Done() // cancelled below, or by the shutdown
				return 0, ctx.Err()
			}
			time.Sleep(20 * time.Microsecond)
			return i, nil
		}
		r.h = Go(context.Background(), s, fn,
			OnSuccess(func(int) { r.success.Add(1); r.stateAtSuccess.Store(int32(r.h.State())) }),
			OnFail(func(error) { r.fail.Add(1) }),
			OnEnd(func() { r.end.Add(1) }))
		close(ready)
		c := r.h.Changes()
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i] = collectStates(c)
		}()
		if i%5 == 3 || i%11 == 0 {
			go r.h.Cancel()
		}
		if i == jobs/2 {
			go s.Shutdown(context.Background())
		}
	}
	wg.Wait()
	<-s.Done()
	valid := [][]State{ranPath, failedPath, neverPath}
	for i, r := range recs {
		v, err := r.h.Wait(context.Background())
		if !slices.ContainsFunc(valid, func(p []State) bool { return slices.Equal(p, paths[i]) }) {
			t.Fatalf("job %d: invalid path %v", i, paths[i])
		}
		returned := slices.Contains(paths[i], Returned)
		if returned != (err == nil) || (returned && v != i) {
			t.Fatalf("job %d: path %v but Wait = %d, %v", i, paths[i], v, err)
		}
		if r.end.Load() != 1 || r.success.Load()+r.fail.Load() != 1 || (r.success.Load() == 1) != returned {
			t.Fatalf("job %d: callbacks success=%d fail=%d end=%d for path %v", i, r.success.Load(), r.fail.Load(), r.end.Load(), paths[i])
		}
		if returned && State(r.stateAtSuccess.Load()) != Returned {
			t.Fatalf("job %d: OnSuccess ran in %v", i, State(r.stateAtSuccess.Load()))
		}
		if slices.Contains(paths[i], Running) && r.h.Progress().Value != float64(i) {
			t.Fatalf("job %d ran but its progress is %v", i, r.h.Progress())
		}
	}
}

func TestJobContextEndsWithJob(t *testing.T) {
	s := newSched(t, sched.Config{MaxWorkers: 1})
	leftover := make(chan error, 1)
	h := Go(context.Background(), s, func(ctx context.Context, _ *Reporter) (int, error) {
		go func() {
			<-ctx.Done() // outlives the job
			leftover <- ctx.Err()
		}()
		return 1, nil
	})
	h.Wait(context.Background())
	if err := <-leftover; !errors.Is(err, context.Canceled) {
		t.Fatalf("context of a finished job: %v, want context.Canceled", err)
	}
}
