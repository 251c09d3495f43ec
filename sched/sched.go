package sched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// Named priorities. Any int is a valid priority; a higher value runs first.
// The zero value is Normal.
const (
	Low    = -1
	Normal = 0
	High   = 1
)

// Job is a function run by a worker. ctx is cancelled when the Scheduler is
// shut down by force ([Scheduler.Shutdown], or [Scheduler.Close] whose context
// ended); a long job should watch it.
type Job func(ctx context.Context)

// Run calls j(ctx), so that a Job is a [Task].
func (j Job) Run(ctx context.Context) { j(ctx) }

// Task is a job given as a value. [Scheduler.SubmitTask] accepts any Task;
// passing a pointer-shaped Task (a *struct or a Job) does not allocate.
type Task interface {
	Run(ctx context.Context)
}

// Dropper may be implemented by a Task that wants to know when it is dropped
// from the queue without running, by [Scheduler.Shutdown] or by a Close whose
// context ended. Drop is called once, with [ErrDropped], from the goroutine
// that shut the Scheduler down.
type Dropper interface {
	Drop(err error)
}

var (
	// ErrClosed is returned when submitting to a Scheduler that is closing
	// or closed, including to submitters blocked in Submit when Close began.
	ErrClosed = errors.New("sched: scheduler is closed")
	// ErrQueueFull is returned by TrySubmit when the queue has no room.
	ErrQueueFull = errors.New("sched: queue is full")
	// ErrDropped is passed to [Dropper.Drop] for a queued job that was
	// dropped by a forced shutdown.
	ErrDropped = errors.New("sched: job dropped at shutdown")
	// ErrInvalidConfig is wrapped by the error New returns for a bad Config.
	ErrInvalidConfig = errors.New("sched: invalid config")
	// ErrNilJob is returned when submitting a nil job.
	ErrNilJob = errors.New("sched: nil job")
)

// PanicError describes a job that panicked or called runtime.Goexit.
type PanicError struct {
	Value  any    // the value passed to panic; nil for runtime.Goexit
	Goexit bool   // the job called runtime.Goexit
	Stack  []byte // the goroutine's stack where the panic was recovered
}

// Error gives the panic value, or says that the job called runtime.Goexit.
func (e *PanicError) Error() string {
	if e.Goexit {
		return "job called runtime.Goexit"
	}
	return fmt.Sprintf("job panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// ShutdownError is returned by Close when its context ends before the queue
// has drained: the Scheduler was then shut down by force.
type ShutdownError struct {
	Dropped int   // queued jobs that were dropped without running
	Err     error // the context's error
}

// Error says that Close was interrupted, by which context error, and how
// many queued jobs were dropped.
func (e *ShutdownError) Error() string {
	return fmt.Sprintf("sched: close interrupted (%v): %d queued jobs dropped", e.Err, e.Dropped)
}

// Unwrap returns the context's error.
func (e *ShutdownError) Unwrap() error { return e.Err }

// Config sets up a Scheduler. The zero value is valid and selects the
// defaults listed on each field.
type Config struct {
	// MinWorkers is the number of workers kept alive while idle.
	// Default 0: an idle Scheduler holds no goroutines.
	MinWorkers int
	// MaxWorkers bounds the number of jobs that run at once.
	// Default 8 × GOMAXPROCS, suited to jobs that mostly wait; for
	// CPU-bound jobs use GOMAXPROCS-1 (see the package doc).
	MaxWorkers int
	// IdleTimeout is how long a worker waits for a job before it exits,
	// while there are more than MinWorkers. Default 2 s.
	IdleTimeout time.Duration
	// QueueSize bounds the number of waiting jobs; Submit blocks and
	// TrySubmit fails when it is reached. Default 4096; a negative value
	// means unbounded.
	QueueSize int
	// Aging, when positive, raises a waiting job's priority by one for
	// every full Aging period it has waited, so that no job waits forever.
	// Default 0: off, strict priorities.
	Aging time.Duration
	// PanicHandler is called on the worker, after the panic is recovered,
	// for every job that panics or calls runtime.Goexit. Several workers may
	// call it at once; it must not panic. Default: log the value and stack
	// with slog.Default at level Error.
	PanicHandler func(*PanicError)
}

// Defaults used for zero Config fields.
const (
	DefaultIdleTimeout = 2 * time.Second
	DefaultQueueSize   = 4096
)

// DefaultMaxWorkers returns the MaxWorkers used when Config.MaxWorkers is 0:
// 8 × GOMAXPROCS.
func DefaultMaxWorkers() int { return 8 * runtime.GOMAXPROCS(0) }

func (c Config) withDefaults() (Config, error) {
	if c.MinWorkers < 0 {
		return c, fmt.Errorf("%w: MinWorkers is %d, want >= 0", ErrInvalidConfig, c.MinWorkers)
	}
	if c.MaxWorkers < 0 {
		return c, fmt.Errorf("%w: MaxWorkers is %d, want >= 0 (0 for the default)", ErrInvalidConfig, c.MaxWorkers)
	}
	if c.IdleTimeout < 0 {
		return c, fmt.Errorf("%w: IdleTimeout is %v, want >= 0 (0 for the default)", ErrInvalidConfig, c.IdleTimeout)
	}
	if c.Aging < 0 {
		return c, fmt.Errorf("%w: Aging is %v, want >= 0 (0 for off)", ErrInvalidConfig, c.Aging)
	}
	if c.MaxWorkers == 0 {
		c.MaxWorkers = max(DefaultMaxWorkers(), c.MinWorkers)
	}
	if c.MinWorkers > c.MaxWorkers {
		return c, fmt.Errorf("%w: MinWorkers %d is greater than MaxWorkers %d", ErrInvalidConfig, c.MinWorkers, c.MaxWorkers)
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.PanicHandler == nil {
		c.PanicHandler = logPanic
	}
	return c, nil
}

func logPanic(p *PanicError) {
	slog.Default().Error("sched: job panicked", "panic", p.Error(), "stack", string(p.Stack))
}

// Scheduler runs submitted jobs on an elastic pool of workers, highest
// priority first and FIFO within a priority. All methods are safe to call
// concurrently. Create one with [New].
type Scheduler struct {
	cfg    Config
	cap    int // queue bound, < 0 for none
	batch  int // free slots needed before blocked submitters are admitted
	epoch  time.Time
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when closed and no worker is left

	mu        sync.Mutex
	levels    levels
	high      *level
	normal    *level
	low       *level
	queued    int
	waiters   []*waiter
	idle      []*worker // parked workers, most recently parked last
	workers   int       // live worker goroutines
	starting  int       // workers started or woken that have not yet taken the lock
	running   int
	seq       uint64 // jobs queued so far
	closed    bool
	doneShut  bool
	completed uint64
	panicked  uint64
	dropped   uint64
	hist      histogram
}

// waiter is a submitter blocked on a full queue.
type waiter struct {
	prio int
	t    Task
	ch   chan error // receives nil once the job is queued, or ErrClosed
}

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan error, 1)} }}

type worker struct {
	wake   chan struct{} // one token per wake-up, sent under s.mu
	timer  *time.Timer
	idle   bool // on s.idle; guarded by s.mu
	exitOK bool // left its loop normally
}

// New returns a Scheduler configured by cfg. It starts MinWorkers workers
// at once; the others are started on demand.
func New(cfg Config) (*Scheduler, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Scheduler{
		cfg:   c,
		cap:   c.QueueSize,
		epoch: time.Now(),
		done:  make(chan struct{}),
	}
	if s.cap > 0 {
		s.batch = max(1, s.cap/16)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.high, s.normal, s.low = &level{prio: High}, &level{prio: Normal}, &level{prio: Low}
	s.levels = levels{s.high, s.normal, s.low}
	s.mu.Lock()
	for i := 0; i < c.MinWorkers; i++ {
		s.spawnLocked()
	}
	s.mu.Unlock()
	return s, nil
}

var (
	defaultOnce  sync.Once
	defaultSched *Scheduler
)

// Default returns a process-wide Scheduler with the default Config, created
// on first use. It is never closed; with MinWorkers 0 it holds no goroutines
// once it has been idle for IdleTimeout.
func Default() *Scheduler {
	defaultOnce.Do(func() {
		defaultSched, _ = New(Config{})
	})
	return defaultSched
}

// Config returns the configuration in effect, defaults filled in.
func (s *Scheduler) Config() Config { return s.cfg }

func (s *Scheduler) now() int64 { return int64(time.Since(s.epoch)) }

// Submit queues job at priority prio. It blocks while the queue is full,
// until room is made or ctx is done, and then returns ctx.Err(). If ctx is
// already done but there is room, the job is queued anyway. ctx only bounds
// the wait for room: the job itself receives the Scheduler's context. After
// Close has begun, Submit returns ErrClosed.
func (s *Scheduler) Submit(ctx context.Context, prio int, job Job) error {
	if job == nil {
		return ErrNilJob
	}
	return s.SubmitTask(ctx, prio, job)
}

// SubmitTask is Submit for a job given as a [Task].
func (s *Scheduler) SubmitTask(ctx context.Context, prio int, t Task) error {
	if t == nil {
		return ErrNilJob
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.cap >= 0 && (s.queued >= s.cap || len(s.waiters) > 0) {
		return s.submitSlow(ctx, prio, t) // unlocks
	}
	s.pushLocked(prio, t)
	s.kickLocked()
	s.mu.Unlock()
	return nil
}

// TrySubmit queues job at priority prio if there is room, without blocking.
// It returns ErrQueueFull when the queue is full or other submitters are
// blocked waiting for room, and ErrClosed after Close has begun.
func (s *Scheduler) TrySubmit(prio int, job Job) error {
	if job == nil {
		return ErrNilJob
	}
	return s.TrySubmitTask(prio, job)
}

// TrySubmitTask is TrySubmit for a job given as a [Task].
func (s *Scheduler) TrySubmitTask(prio int, t Task) error {
	if t == nil {
		return ErrNilJob
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.cap >= 0 && (s.queued >= s.cap || len(s.waiters) > 0) {
		s.mu.Unlock()
		return ErrQueueFull
	}
	s.pushLocked(prio, t)
	s.kickLocked()
	s.mu.Unlock()
	return nil
}

// submitSlow blocks a submitter until its job is admitted, the Scheduler
// closes or ctx ends. Called with s.mu held; returns with it released.
func (s *Scheduler) submitSlow(ctx context.Context, prio int, t Task) error {
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return err
	}
	w := waiterPool.Get().(*waiter)
	w.prio, w.t = prio, t
	s.waiters = append(s.waiters, w)
	s.admitLocked()
	s.mu.Unlock()
	var err error
	select {
	case err = <-w.ch:
	case <-ctx.Done():
		s.mu.Lock()
		if s.removeWaiterLocked(w) {
			s.mu.Unlock()
			err = ctx.Err()
		} else {
			// Admitted or rejected in the meantime: the answer is buffered.
			s.mu.Unlock()
			err = <-w.ch
		}
	}
	w.t = nil
	waiterPool.Put(w)
	return err
}

func (s *Scheduler) removeWaiterLocked(w *waiter) bool {
	for i, x := range s.waiters {
		if x == w {
			copy(s.waiters[i:], s.waiters[i+1:])
			s.waiters[len(s.waiters)-1] = nil
			s.waiters = s.waiters[:len(s.waiters)-1]
			return true
		}
	}
	return false
}

// admitLocked moves blocked submitters' jobs into the queue, highest
// priority first, once a batch of slots is free.
func (s *Scheduler) admitLocked() {
	if len(s.waiters) == 0 || s.cap-s.queued < s.batch {
		return
	}
	for len(s.waiters) > 0 && s.queued < s.cap {
		best := 0
		for i, w := range s.waiters {
			if w.prio > s.waiters[best].prio {
				best = i
			}
		}
		w := s.waiters[best]
		copy(s.waiters[best:], s.waiters[best+1:])
		s.waiters[len(s.waiters)-1] = nil
		s.waiters = s.waiters[:len(s.waiters)-1]
		s.pushLocked(w.prio, w.t)
		w.ch <- nil
	}
	s.kickLocked()
}

// waitSample: one job in waitSample has its queue wait measured (reading
// the clock costs as much as the rest of a submission on some machines).
const waitSample = 16

func (s *Scheduler) pushLocked(prio int, t Task) {
	var l *level
	switch prio {
	case High:
		l = s.high
	case Normal:
		l = s.normal
	case Low:
		l = s.low
	default:
		l = s.levels.get(prio)
	}
	var enq int64
	if s.cfg.Aging > 0 || s.seq%waitSample == 0 {
		enq = s.now() | 1 // never 0: 0 means "not timed"
	}
	s.seq++
	l.q.push(item{t: t, enq: enq})
	s.queued++
}

// kickLocked makes sure a worker is on its way for the newest queued job:
// it wakes the most recently parked worker, or starts one below MaxWorkers.
func (s *Scheduler) kickLocked() {
	if s.queued <= s.starting {
		return
	}
	if n := len(s.idle); n > 0 {
		w := s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
		w.idle = false
		s.starting++
		w.wake <- struct{}{}
		return
	}
	if s.workers < s.cfg.MaxWorkers {
		s.spawnLocked()
	}
}

func (s *Scheduler) spawnLocked() {
	s.workers++
	s.starting++
	go s.work(&worker{wake: make(chan struct{}, 1)})
}

// popLocked takes the next job: the oldest of the highest priority, or with
// aging the one with the highest aged priority (the oldest on ties).
func (s *Scheduler) popLocked() (Task, bool) {
	if s.queued == 0 {
		return nil, false
	}
	var l *level
	var now int64
	if s.cfg.Aging > 0 {
		now = s.now()
		l = s.agedLocked(now)
	} else {
		for _, x := range s.levels {
			if x.q.n > 0 {
				l = x
				break
			}
		}
	}
	it := l.q.pop()
	s.queued--
	if it.enq != 0 {
		if now == 0 {
			now = s.now()
		}
		s.hist.add(now - it.enq)
	}
	if len(s.waiters) > 0 {
		s.admitLocked()
	}
	return it.t, true
}

func (s *Scheduler) agedLocked(now int64) *level {
	const maxSteps = 1 << 30
	var best *level
	var bestPrio int
	var bestEnq int64
	for _, l := range s.levels {
		if l.q.n == 0 {
			continue
		}
		enq := l.q.peek().enq
		steps := int64(0)
		if w := now - enq; w > 0 {
			steps = min(w/int64(s.cfg.Aging), maxSteps)
		}
		p := l.prio
		if p < int(^uint(0)>>1)-maxSteps {
			p += int(steps)
		}
		if best == nil || p > bestPrio || (p == bestPrio && enq < bestEnq) {
			best, bestPrio, bestEnq = l, p, enq
		}
	}
	return best
}

// work is a worker goroutine's loop.
func (s *Scheduler) work(w *worker) {
	defer s.workerGone(w)
	s.mu.Lock()
	s.starting--
	for {
		if t, ok := s.popLocked(); ok {
			s.running++
			s.mu.Unlock()
			ok := s.runTask(t)
			s.mu.Lock()
			s.running--
			if ok {
				s.completed++
			}
			continue
		}
		if s.closed {
			s.exitLocked(w)
			s.mu.Unlock()
			return
		}
		// Park until woken, or until IdleTimeout if above MinWorkers.
		w.idle = true
		s.idle = append(s.idle, w)
		timed := s.workers > s.cfg.MinWorkers
		s.mu.Unlock()
		if !timed {
			<-w.wake
			s.mu.Lock()
			s.starting--
			continue
		}
		if w.timer == nil {
			w.timer = time.NewTimer(s.cfg.IdleTimeout)
		} else {
			w.timer.Reset(s.cfg.IdleTimeout)
		}
		select {
		case <-w.wake:
			w.timer.Stop()
			s.mu.Lock()
			s.starting--
			continue
		case <-w.timer.C:
		}
		s.mu.Lock()
		if !w.idle {
			// Woken just as the timer fired; the token is buffered.
			<-w.wake
			s.starting--
			continue
		}
		s.removeIdleLocked(w)
		if s.workers > s.cfg.MinWorkers {
			s.exitLocked(w)
			s.mu.Unlock()
			return
		}
	}
}

func (s *Scheduler) removeIdleLocked(w *worker) {
	for i, x := range s.idle {
		if x == w {
			copy(s.idle[i:], s.idle[i+1:])
			s.idle[len(s.idle)-1] = nil
			s.idle = s.idle[:len(s.idle)-1]
			break
		}
	}
	w.idle = false
}

func (s *Scheduler) exitLocked(w *worker) {
	w.exitOK = true
	if w.timer != nil {
		w.timer.Stop()
	}
	s.workers--
	s.maybeDoneLocked()
}

func (s *Scheduler) maybeDoneLocked() {
	if s.closed && s.workers == 0 && !s.doneShut {
		s.doneShut = true
		close(s.done)
		s.cancel()
	}
}

// workerGone runs when a worker goroutine ends; if a job called
// runtime.Goexit the worker is replaced when jobs are waiting.
func (s *Scheduler) workerGone(w *worker) {
	if w.exitOK {
		return
	}
	s.mu.Lock()
	s.running--
	s.workers--
	if s.queued > 0 && s.workers < s.cfg.MaxWorkers {
		s.spawnLocked()
	}
	s.maybeDoneLocked()
	s.mu.Unlock()
}

// runTask runs t, recovering a panic; it reports whether t returned normally.
func (s *Scheduler) runTask(t Task) (ok bool) {
	defer func() {
		if !ok {
			s.recovered(recover())
		}
	}()
	t.Run(s.ctx)
	return true
}

func (s *Scheduler) recovered(v any) {
	p := &PanicError{Value: v, Goexit: v == nil, Stack: debug.Stack()}
	s.mu.Lock()
	s.panicked++
	s.mu.Unlock()
	s.cfg.PanicHandler(p)
}

// beginClose stops accepting jobs, rejects blocked submitters and wakes
// idle workers so they drain the queue and exit.
func (s *Scheduler) beginClose() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for i, w := range s.waiters {
		w.ch <- ErrClosed
		s.waiters[i] = nil
	}
	s.waiters = s.waiters[:0]
	for i, w := range s.idle {
		w.idle = false
		s.starting++
		w.wake <- struct{}{}
		s.idle[i] = nil
	}
	s.idle = s.idle[:0]
	s.maybeDoneLocked()
}

// drop cancels the jobs' context and empties the queue, telling Droppers.
func (s *Scheduler) drop() int {
	s.mu.Lock()
	var tasks []Task
	for _, l := range s.levels {
		for l.q.n > 0 {
			tasks = append(tasks, l.q.pop().t)
		}
	}
	s.queued = 0
	s.dropped += uint64(len(tasks))
	s.mu.Unlock()
	s.cancel()
	for _, t := range tasks {
		if d, ok := t.(Dropper); ok {
			d.Drop(ErrDropped)
		}
	}
	return len(tasks)
}

// Close stops accepting jobs (Submit and TrySubmit return ErrClosed, and
// blocked submitters are released with ErrClosed), lets the workers run every
// job already queued, and waits until they have all returned. It returns nil
// once they have. If ctx ends first, Close shuts the Scheduler down as
// [Scheduler.Shutdown] does, without waiting further, and returns a
// *[ShutdownError] carrying the number of dropped jobs and wrapping ctx.Err().
// Close may be called more than once and concurrently; every call waits.
// Called from a job, it would wait for that job: such a Close can only end
// through ctx.
func (s *Scheduler) Close(ctx context.Context) error {
	s.beginClose()
	select {
	case <-s.done:
		return nil
	default:
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
	}
	n := s.drop()
	return &ShutdownError{Dropped: n, Err: ctx.Err()}
}

// Shutdown stops accepting jobs, drops every queued job without running it
// (telling those that implement [Dropper]), cancels the context passed to
// running jobs, and waits until the running jobs return or ctx ends. It
// returns the number of jobs dropped by this call, and ctx.Err() if ctx ended
// before the last job returned. It may be called after Close, or while a
// Close is waiting, to force it.
func (s *Scheduler) Shutdown(ctx context.Context) (dropped int, err error) {
	s.beginClose()
	dropped = s.drop()
	select {
	case <-s.done:
		return dropped, nil
	case <-ctx.Done():
		return dropped, ctx.Err()
	}
}

// Done returns a channel closed once the Scheduler is closed and its last
// worker has exited.
func (s *Scheduler) Done() <-chan struct{} { return s.done }

// Stats returns a snapshot of the Scheduler's counters. It takes the
// Scheduler's lock briefly and allocates one small slice; it is cheap enough
// to call often (for example on every metrics scrape).
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		QueuedTotal: s.queued,
		Blocked:     len(s.waiters),
		Running:     s.running,
		Workers:     s.workers,
		IdleWorkers: len(s.idle),
		Completed:   s.completed,
		Panicked:    s.panicked,
		Dropped:     s.dropped,
		Wait:        s.hist.stats(),
	}
	st.Queued = make([]PriorityCount, 0, len(s.levels))
	for _, l := range s.levels {
		if l.q.n > 0 || l.prio == Low || l.prio == Normal || l.prio == High {
			st.Queued = append(st.Queued, PriorityCount{Priority: l.prio, Queued: l.q.n})
		}
	}
	return st
}
