package task

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/exec"
)

// Default settings.
const (
	DefaultFanout         = 64
	DefaultConnectTimeout = 10 * time.Second
)

// Errors returned by Task methods; test them with errors.Is.
var (
	// ErrTimeout: the task-wide deadline passed; everything was stopped.
	ErrTimeout = errors.New("task timed out")
	// ErrAborted: Abort was called; everything was stopped.
	ErrAborted = errors.New("task aborted")
	// ErrRunning: Run was called while the task was already running.
	ErrRunning = errors.New("task is already running")
	// ErrScheduled: a worker was scheduled twice.
	ErrScheduled = errors.New("worker already scheduled")
	// ErrNoTransport: a distant command or copy was asked for and no
	// transport able to do it is configured.
	ErrNoTransport = errors.New("no distant worker configured")
)

// timeoutError matches both ErrTimeout and context.DeadlineExceeded.
type timeoutError struct{ cause error }

func (e timeoutError) Error() string { return "task: " + ErrTimeout.Error() }
func (e timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}
func (e timeoutError) Unwrap() error { return e.cause }

// DebugPrinter receives the task's debug lines when debugging is on.
type DebugPrinter func(t *Task, line string)

// Task holds settings, runs workers and timers, and keeps their results.
// Configure it and schedule work from any goroutine; Run it from one.
// While it runs, the methods documented as safe (Shell, Schedule, Abort,
// Wait, Post, timer methods, setters) may be called from handlers or from
// other goroutines.
type Task struct {
	mu             sync.Mutex
	fanout         int
	connectTimeout time.Duration
	commandTimeout time.Duration
	debug          bool
	printer        DebugPrinter
	info           map[string]any
	local          worker.Transport
	distant        worker.Transport
	keepOutput     bool

	// queued work and requests, handed to the loop
	inbox      []event
	newWorkers []*Worker
	timers     []*Timer
	notify     chan struct{}
	running    bool
	done       chan struct{}
	abortReq   atomic.Bool

	// loop state (touched only by the goroutine in Run, or after it)
	workers []*Worker
	loop    loopState
}

// Option configures a Task at creation.
type Option func(*Task)

// WithFanout sets how many nodes may run at once (default 64).
func WithFanout(n int) Option { return func(t *Task) { t.fanout = n } }

// WithConnectTimeout sets the distant workers' connect timeout (default 10 s).
func WithConnectTimeout(d time.Duration) Option { return func(t *Task) { t.connectTimeout = d } }

// WithCommandTimeout sets the default per-node command timeout (default none).
func WithCommandTimeout(d time.Duration) Option { return func(t *Task) { t.commandTimeout = d } }

// WithDebug turns debugging on; p receives the lines (nil: log/slog at debug level).
func WithDebug(p DebugPrinter) Option {
	return func(t *Task) { t.debug = true; t.printer = p }
}

// WithDistant sets the transport used for commands on nodes (default:
// none; muster's command line sets ssh, or exec with -R exec).
func WithDistant(tr worker.Transport) Option { return func(t *Task) { t.distant = tr } }

// WithLocal sets the transport for local commands (default: worker/exec).
func WithLocal(tr worker.Transport) Option { return func(t *Task) { t.local = tr } }

// WithKeepOutput sets whether output is kept for the result getters
// (default true). Handlers see every line either way.
func WithKeepOutput(keep bool) Option { return func(t *Task) { t.keepOutput = keep } }

// New returns a Task with default settings changed by opts.
func New(opts ...Option) *Task {
	t := &Task{
		fanout:         DefaultFanout,
		connectTimeout: DefaultConnectTimeout,
		info:           map[string]any{},
		local:          exec.Transport{},
		keepOutput:     true,
		notify:         make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

func (t *Task) wake() {
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// Fanout returns the maximum number of nodes running at once.
func (t *Task) Fanout() int { t.mu.Lock(); defer t.mu.Unlock(); return t.fanout }

// SetFanout changes the fanout; a running task applies it at once to the
// nodes it starts next. n < 1 means 1.
func (t *Task) SetFanout(n int) { t.mu.Lock(); t.fanout = n; t.mu.Unlock(); t.wake() }

// ConnectTimeout returns the connect timeout given to distant workers.
func (t *Task) ConnectTimeout() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.connectTimeout
}

// SetConnectTimeout changes the connect timeout for nodes started next.
func (t *Task) SetConnectTimeout(d time.Duration) { t.mu.Lock(); t.connectTimeout = d; t.mu.Unlock() }

// CommandTimeout returns the default per-node command timeout (0: none).
func (t *Task) CommandTimeout() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.commandTimeout
}

// SetCommandTimeout changes the default command timeout of workers
// created next.
func (t *Task) SetCommandTimeout(d time.Duration) { t.mu.Lock(); t.commandTimeout = d; t.mu.Unlock() }

// SetDebug turns debugging on or off; p replaces the printer when not nil.
func (t *Task) SetDebug(on bool, p DebugPrinter) {
	t.mu.Lock()
	t.debug = on
	if p != nil {
		t.printer = p
	}
	t.mu.Unlock()
}

// Debug reports whether debugging is on.
func (t *Task) Debug() bool { t.mu.Lock(); defer t.mu.Unlock(); return t.debug }

// SetDistant changes the default distant transport.
func (t *Task) SetDistant(tr worker.Transport) { t.mu.Lock(); t.distant = tr; t.mu.Unlock() }

// Distant returns the default distant transport (nil if none).
func (t *Task) Distant() worker.Transport { t.mu.Lock(); defer t.mu.Unlock(); return t.distant }

// Names of the built-in settings reachable through Info and SetInfo, as in
// ClusterShell's task info dictionary.
const (
	InfoFanout         = "fanout"          // int
	InfoConnectTimeout = "connect_timeout" // time.Duration
	InfoCommandTimeout = "command_timeout" // time.Duration
	InfoDebug          = "debug"           // bool
	InfoPrintDebug     = "print_debug"     // DebugPrinter
)

// ErrInfoType is returned (wrapped) by SetInfo when a built-in setting gets
// a value of the wrong type.
var ErrInfoType = errors.New("wrong type for task setting")

// SetInfo sets a built-in setting (the Info* keys, with their Go types) or
// stores a user-defined value under any other key. Keys starting with
// "USER_" will never be used by muster itself.
func (t *Task) SetInfo(key string, value any) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	bad := func(want string) error {
		return fmt.Errorf("task: SetInfo(%q, %T): %w (want %s)", key, value, ErrInfoType, want)
	}
	switch key {
	case InfoFanout:
		n, ok := value.(int)
		if !ok {
			return bad("int")
		}
		t.fanout = n
		defer t.wake()
	case InfoConnectTimeout, InfoCommandTimeout:
		d, ok := value.(time.Duration)
		if !ok {
			return bad("time.Duration")
		}
		if key == InfoConnectTimeout {
			t.connectTimeout = d
		} else {
			t.commandTimeout = d
		}
	case InfoDebug:
		b, ok := value.(bool)
		if !ok {
			return bad("bool")
		}
		t.debug = b
	case InfoPrintDebug:
		p, ok := value.(DebugPrinter)
		if f, isFunc := value.(func(*Task, string)); isFunc {
			p, ok = f, true
		}
		if !ok {
			return bad("task.DebugPrinter")
		}
		t.printer = p
	default:
		t.info[key] = value
	}
	return nil
}

// Info returns a built-in setting (the Info* keys) or the user-defined
// value stored under key.
func (t *Task) Info(key string) (any, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch key {
	case InfoFanout:
		return t.fanout, true
	case InfoConnectTimeout:
		return t.connectTimeout, true
	case InfoCommandTimeout:
		return t.commandTimeout, true
	case InfoDebug:
		return t.debug, true
	case InfoPrintDebug:
		return t.printer, t.printer != nil
	}
	v, ok := t.info[key]
	return v, ok
}

// InfoKeys returns a copy of the user-defined values (not the built-in
// settings).
func (t *Task) InfoKeys() map[string]any { t.mu.Lock(); defer t.mu.Unlock(); return maps.Clone(t.info) }

// debugLine prints a debug line through the printer, on the loop goroutine.
func (t *Task) debugLine(line string) {
	t.mu.Lock()
	on, p := t.debug, t.printer
	t.mu.Unlock()
	if !on {
		return
	}
	if p == nil {
		slog.Debug(line, "component", "task")
		return
	}
	p(t, line)
}

// Running reports whether Run is in progress.
func (t *Task) Running() bool { t.mu.Lock(); defer t.mu.Unlock(); return t.running }

// Abort stops the task: every running command is killed (with its process
// group), pending work and timers are dropped, and Run returns an error
// matching ErrAborted. No handler is called after the one that aborted
// (no OnHup, OnTimeout or OnClose for the stopped nodes); results of the
// nodes that ended before stay available. Safe from handlers and from
// other goroutines; a no-op when the task is not running.
func (t *Task) Abort() {
	t.mu.Lock()
	running := t.running
	t.mu.Unlock()
	if running {
		t.abortReq.Store(true)
		t.wake()
	}
}

// Wait blocks until the current Run returns (at once if none is in
// progress) or ctx ends. Safe from other goroutines; calling it from a
// handler would deadlock and returns an error instead only if ctx ends.
func (t *Task) Wait(ctx context.Context) error {
	t.mu.Lock()
	done := t.done
	running := t.running
	t.mu.Unlock()
	if !running || done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Join is Wait.
func (t *Task) Join(ctx context.Context) error { return t.Wait(ctx) }

// Post runs fn on the task's goroutine, in order with the events, while
// the task runs (or when it next runs). It does not keep the task running.
// Safe from any goroutine.
func (t *Task) Post(fn func()) {
	t.push(event{kind: evFunc, fn: fn})
}

// Port is a mailbox into a running task: messages sent from any goroutine
// are handed to its function on the task's goroutine, in order.
type Port struct {
	t  *Task
	fn func(msg any)
}

// Port returns a port delivering messages to fn.
func (t *Task) Port(fn func(msg any)) *Port { return &Port{t: t, fn: fn} }

// Send queues msg for the port's function. It never blocks.
func (p *Port) Send(msg any) {
	p.t.push(event{kind: evFunc, fn: func() { p.fn(msg) }})
}

func (t *Task) push(ev event) {
	t.mu.Lock()
	t.inbox = append(t.inbox, ev)
	t.mu.Unlock()
	t.wake()
}

// Schedule adds a worker made with NewWorker. If the task is running, the
// worker's nodes start as soon as the fanout allows. Safe from handlers
// and other goroutines.
func (t *Task) Schedule(w *Worker) error {
	t.mu.Lock()
	if w.task != nil {
		t.mu.Unlock()
		return fmt.Errorf("task: schedule %s: %w", w, ErrScheduled)
	}
	w.task = t
	if !w.tset {
		w.timeout = t.commandTimeout
	}
	t.newWorkers = append(t.newWorkers, w)
	t.mu.Unlock()
	t.wake()
	return nil
}
