package async

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muster-sh/muster/sched"
)

// State is a step of a Handle's lifecycle.
type State int32

// The lifecycle states, in order; see the package documentation.
const (
	Created   State = iota // queued, not started
	Running                // the function is running
	Returned               // it returned a nil error; OnSuccess runs
	Failed                 // it returned an error, panicked or never started; OnFail runs
	Finishing              // OnEnd runs
	Closed                 // everything is over
)

var stateNames = [...]string{"Created", "Running", "Returned", "Failed", "Finishing", "Closed"}

// String returns the state's name, such as "Running".
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// maxStates is the longest lifecycle: Created, Running, Returned or Failed,
// Finishing, Closed.
const maxStates = 5

// Progress is a snapshot of what a job reported with its [Reporter].
type Progress struct {
	Value   float64 // in the job's own scale and direction
	Message string  // optional
}

// Reporter is how a running job publishes its progress. Its methods are safe
// to call concurrently.
type Reporter struct {
	mu sync.Mutex
	p  Progress
}

// Set sets the progress value and keeps the message.
func (r *Reporter) Set(value float64) {
	r.mu.Lock()
	r.p.Value = value
	r.mu.Unlock()
}

// Report sets the progress value and message.
func (r *Reporter) Report(value float64, message string) {
	r.mu.Lock()
	r.p = Progress{Value: value, Message: message}
	r.mu.Unlock()
}

// Progress returns the last value and message reported.
func (r *Reporter) Progress() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p
}

// Option configures a job submitted by Go, Run, Background or
// BackgroundWithHandle.
type Option func(*options)

type options struct {
	prio      int
	sched     *sched.Scheduler
	onSuccess any // func(T), checked against T when the job is created
	onFail    func(error)
	onEnd     func()
}

// OnSuccess sets a callback run with the function's result when it returns
// a nil error, while the Handle is Returned. T must be the job's result type;
// Go and the Background functions panic otherwise.
func OnSuccess[T any](f func(T)) Option { return func(o *options) { o.onSuccess = f } }

// OnFail sets a callback run with the error when the function returns an
// error, panics (a *sched.PanicError) or never starts, while the Handle is
// Failed.
func OnFail(f func(error)) Option { return func(o *options) { o.onFail = f } }

// OnEnd sets a callback run after OnSuccess or OnFail whatever happened,
// while the Handle is Finishing.
func OnEnd(f func()) Option { return func(o *options) { o.onEnd = f } }

// Priority sets the job's scheduling priority (default sched.Normal).
func Priority(p int) Option { return func(o *options) { o.prio = p } }

// On selects the Scheduler that runs the job when none is passed explicitly
// (Background, or Go with a nil Scheduler). Default: sched.Default().
func On(s *sched.Scheduler) Option { return func(o *options) { o.sched = s } }

// Handle follows one background job. Its methods are safe to call
// concurrently, from any goroutine, including from the job and its
// callbacks, except Wait (and receiving from Done), which there would wait
// forever: the handle is Closed only after they return. A Handle stays
// readable after it is Closed and after its Scheduler is closed.
type Handle[T any] struct {
	fn        func(context.Context, *Reporter) (T, error)
	onSuccess func(T)
	onFail    func(error)
	onEnd     func()

	rep     Reporter
	ctx     jobContext
	claimed atomic.Bool // set by whoever starts or abandons the job
	val     T
	err     error

	// The states passed so far. Only the goroutine that claimed the job
	// writes them, each before publishing it through nhist.
	hist  [maxStates]State
	nhist atomic.Int32

	// Transitions take mu only once someone watches (Changes or Done).
	watched    atomic.Bool
	mu         sync.Mutex // guards subs, done and doneClosed
	subs       []subscriber
	done       chan struct{} // made on demand; closed at Closed
	doneClosed bool
}

// subscriber is a Changes channel and how many states it has been sent.
type subscriber struct {
	c    chan State
	sent int
}

func newHandle[T any](fn func(context.Context, *Reporter) (T, error), o *options) *Handle[T] {
	h := &Handle[T]{fn: fn, onFail: o.onFail, onEnd: o.onEnd}
	if o.onSuccess != nil {
		f, ok := o.onSuccess.(func(T))
		if !ok {
			panic(fmt.Sprintf("async: OnSuccess callback is a %T, want a func(%v) for this job's result", o.onSuccess, reflect.TypeFor[T]()))
		}
		h.onSuccess = f
	}
	h.hist[0] = Created
	h.nhist.Store(1)
	return h
}

func collect(opts []Option) options {
	if len(opts) == 0 {
		return options{} // without options, nothing escapes
	}
	o := new(options)
	for _, opt := range opts {
		opt(o)
	}
	return *o
}

func submit[T any](ctx context.Context, s *sched.Scheduler, h *Handle[T], o *options) {
	if s == nil {
		s = o.sched
	}
	if s == nil {
		s = sched.Default()
	}
	if err := s.SubmitTask(ctx, o.prio, h); err != nil {
		h.abandon(err)
	}
}

// Go submits fn to s (sched.Default() if s is nil and no On option is
// given) and returns its Handle. It blocks only while the scheduler's queue
// is full, until ctx is done. If the job cannot be queued (ctx done, the
// scheduler closed), the Handle fails at once with that error, its OnFail
// and OnEnd callbacks running in the caller's goroutine before Go returns.
func Go[T any](ctx context.Context, s *sched.Scheduler, fn func(ctx context.Context, r *Reporter) (T, error), opts ...Option) *Handle[T] {
	o := collect(opts)
	h := newHandle(fn, &o)
	submit(ctx, s, h, &o)
	return h
}

// Run submits fn like Go and waits for it to close, returning its result.
// If ctx ends first, Run cancels the job and returns ctx.Err() without
// waiting further.
func Run[T any](ctx context.Context, s *sched.Scheduler, fn func(ctx context.Context, r *Reporter) (T, error), opts ...Option) (T, error) {
	h := Go(ctx, s, fn, opts...)
	v, err := h.Wait(ctx)
	if err != nil && ctx.Err() != nil {
		h.Cancel()
	}
	return v, err
}

// Background wraps fn so that each call submits it with the given options
// and returns its Handle at once. The call blocks only while the
// scheduler's queue is full, which is the scheduler's backpressure; use Go
// with a context to bound that wait. Use On to pick the Scheduler; the
// default is sched.Default(). Since callers of a background function often
// drop the Handle, a failure is logged with slog.Default at level Error
// unless an OnFail callback is given.
func Background[A, T any](fn func(ctx context.Context, arg A) (T, error), opts ...Option) func(arg A) *Handle[T] {
	o := backgroundOptions(opts)
	newHandle[T](nil, &o) // check OnSuccess's type now, not on first call
	return func(arg A) *Handle[T] {
		h := newHandle(func(ctx context.Context, _ *Reporter) (T, error) { return fn(ctx, arg) }, &o)
		submit(context.Background(), nil, h, &o)
		return h
	}
}

// BackgroundWithHandle is Background for a function that receives its own
// Handle, for example to report progress with h.SetProgress.
func BackgroundWithHandle[A, T any](fn func(ctx context.Context, h *Handle[T], arg A) (T, error), opts ...Option) func(arg A) *Handle[T] {
	o := backgroundOptions(opts)
	newHandle[T](nil, &o) // check OnSuccess's type now, not on first call
	return func(arg A) *Handle[T] {
		h := newHandle[T](nil, &o)
		h.fn = func(ctx context.Context, _ *Reporter) (T, error) { return fn(ctx, h, arg) }
		submit(context.Background(), nil, h, &o)
		return h
	}
}

func backgroundOptions(opts []Option) options {
	o := collect(opts)
	if o.onFail == nil {
		o.onFail = logFailure
	}
	return o
}

func logFailure(err error) {
	slog.Default().Error("async: background job failed", "err", err)
}

// State returns the current state.
func (h *Handle[T]) State() State { return h.hist[h.nhist.Load()-1] }

// Changes returns a channel that delivers every state of the job, from
// Created to Closed, in order, and is then closed. A channel obtained late
// first replays the states already passed. The channel is buffered for the
// whole lifecycle: the job never waits for its reader.
func (h *Handle[T]) Changes() <-chan State {
	c := make(chan State, maxStates)
	h.mu.Lock()
	h.subs = append(h.subs, subscriber{c: c})
	h.watched.Store(true)
	h.syncLocked()
	h.mu.Unlock()
	return c
}

// Progress returns the last progress the job reported.
func (h *Handle[T]) Progress() Progress { return h.rep.Progress() }

// SetProgress reports progress on the job's behalf; see [Reporter.Report].
func (h *Handle[T]) SetProgress(value float64, message string) { h.rep.Report(value, message) }

// closedChan is returned by Done for a handle that is already Closed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Done returns a channel closed when the job is Closed.
func (h *Handle[T]) Done() <-chan struct{} {
	if h.State() == Closed {
		return closedChan
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = make(chan struct{})
	}
	h.watched.Store(true)
	h.syncLocked()
	return h.done
}

// Wait blocks until the job is Closed (its callbacks have run) and returns
// its result and error, or until ctx is done and returns ctx.Err(). Waiting
// does not affect the job.
func (h *Handle[T]) Wait(ctx context.Context) (T, error) {
	if h.State() == Closed {
		return h.val, h.err
	}
	select {
	case <-h.Done():
		return h.val, h.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Cancel cancels the job's context. A running job sees it and decides what
// to return; a job that has not started never will: it fails with
// context.Canceled, its OnFail and OnEnd callbacks running in the goroutine
// that called Cancel. Cancel may be called any number of times.
func (h *Handle[T]) Cancel() {
	h.ctx.cancel(context.Canceled)
	h.abandon(context.Canceled)
}

// Run implements sched.Task: the scheduler calls it on a worker to run the
// job's lifecycle. Calling it yourself runs the job in your goroutine if it
// has not started yet, and does nothing otherwise.
func (h *Handle[T]) Run(ctx context.Context) {
	if !h.claimed.CompareAndSwap(false, true) {
		return // cancelled before it started
	}
	h.ctx.setParent(ctx)
	h.setState(Running)
	returned := false
	defer func() {
		if !returned { // panic or runtime.Goexit
			r := recover()
			var zero T
			h.finish(zero, &sched.PanicError{Value: r, Goexit: r == nil, Stack: debug.Stack()})
		}
	}()
	v, err := h.fn(&h.ctx, &h.rep)
	returned = true
	h.finish(v, err)
}

// Drop implements sched.Dropper: the scheduler calls it when it drops the
// queued job at shutdown, and the job then fails with err without running.
func (h *Handle[T]) Drop(err error) { h.abandon(err) }

// abandon ends a job that has not started.
func (h *Handle[T]) abandon(err error) {
	if !h.claimed.CompareAndSwap(false, true) {
		return
	}
	var zero T
	h.finish(zero, err)
}

func (h *Handle[T]) finish(v T, err error) {
	h.ctx.end()
	if err == nil {
		h.val = v
		h.setState(Returned)
		if h.onSuccess != nil {
			h.callSuccess(v)
		}
	} else {
		h.err = err
		h.setState(Failed)
		if h.onFail != nil {
			h.callFail(err)
		}
	}
	h.setState(Finishing)
	if h.onEnd != nil {
		h.callEnd()
	}
	h.setState(Closed)
}

func callbackPanicked(name string) {
	if r := recover(); r != nil {
		slog.Default().Error("async: callback panicked", "callback", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	}
}

func (h *Handle[T]) callSuccess(v T) {
	defer callbackPanicked("OnSuccess")
	h.onSuccess(v)
}

func (h *Handle[T]) callFail(err error) {
	defer callbackPanicked("OnFail")
	h.onFail(err)
}

func (h *Handle[T]) callEnd() {
	defer callbackPanicked("OnEnd")
	h.onEnd()
}

// setState publishes the next state. Only the goroutine that claimed the
// job calls it.
func (h *Handle[T]) setState(st State) {
	n := h.nhist.Load()
	h.hist[n] = st
	h.nhist.Store(n + 1)
	// A watcher that registered before this load is served here; one that
	// registers after it sees the new nhist in its own syncLocked.
	if h.watched.Load() {
		h.mu.Lock()
		h.syncLocked()
		h.mu.Unlock()
	}
}

// syncLocked sends every subscriber the states it has not been sent yet
// (never blocking: each channel holds a whole lifecycle), and at Closed
// closes the subscribers' channels and done.
func (h *Handle[T]) syncLocked() {
	n := int(h.nhist.Load())
	closed := h.hist[n-1] == Closed
	keep := h.subs[:0]
	for _, sub := range h.subs {
		for ; sub.sent < n; sub.sent++ {
			sub.c <- h.hist[sub.sent]
		}
		if closed {
			close(sub.c)
		} else {
			keep = append(keep, sub)
		}
	}
	clear(h.subs[len(keep):])
	h.subs = keep
	if closed && h.done != nil && !h.doneClosed {
		h.doneClosed = true
		close(h.done)
	}
}

// jobContext is the context a job runs with: the scheduler's context plus
// its own cancellation. It is embedded in the Handle so that starting a job
// allocates no context; a Done channel is made only if the job asks for it.
type jobContext struct {
	mu     sync.Mutex
	parent context.Context
	done   chan struct{}
	err    error
	stop   func() bool
}

var _ context.Context = (*jobContext)(nil)

// setParent is called by Run before the job's function, which is the only
// holder of the context, so the field needs no lock: everything that reads
// it happens after.
func (c *jobContext) setParent(p context.Context) { c.parent = p }

func (c *jobContext) Deadline() (time.Time, bool) {
	if c.parent != nil {
		return c.parent.Deadline()
	}
	return time.Time{}, false
}

func (c *jobContext) Value(key any) any {
	if c.parent != nil {
		return c.parent.Value(key)
	}
	return nil
}

func (c *jobContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.done = make(chan struct{})
	c.pollParentLocked()
	if c.err != nil {
		close(c.done)
	} else if c.parent != nil && c.parent.Done() != nil {
		p := c.parent
		c.stop = context.AfterFunc(p, func() { c.cancel(p.Err()) })
	}
	return c.done
}

func (c *jobContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.pollParentLocked()
		if c.err != nil && c.done != nil {
			close(c.done)
		}
	}
	return c.err
}

func (c *jobContext) pollParentLocked() {
	if c.err == nil && c.parent != nil {
		c.err = c.parent.Err()
	}
}

func (c *jobContext) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		if c.done != nil {
			close(c.done)
		}
	}
}

// end cancels the context once the job has returned (goroutines the job
// started learn that it is over) and detaches it from its parent.
func (c *jobContext) end() {
	c.mu.Lock()
	if c.err == nil {
		c.err = context.Canceled
		if c.done != nil {
			close(c.done)
		}
	}
	stop := c.stop
	c.stop = nil
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (c *jobContext) String() string { return "async.jobContext" }
