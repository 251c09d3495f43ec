package task

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/muster-sh/muster/gather"
	"github.com/muster-sh/muster/worker"
)

type evKind uint8

const (
	evPickup evKind = iota
	evOut
	evErr
	evWritten
	evDone
	evDebug
	evFunc
)

type event struct {
	kind    evKind
	u       *unit
	lines   [][]byte
	partial bool // the last of lines had no newline (end of stream)
	n       int
	st      worker.Status
	err     error
	text    string
	fn      func()
}

// unit is one node's run; it is the worker.Session given to the driver.
type unit struct {
	t      *Task
	w      *Worker
	node   string
	rank   int
	ctx    context.Context
	cancel context.CancelFunc
	out    lineWriter
	errw   lineWriter
	input  worker.Input
	ctout  time.Duration

	slot  *slot // the fanout slot this run holds (shared by a batch)
	batch bool  // run by a BatchDriver: timeouts are told by the error

	// loop state
	picked         bool
	outCur, errCur *gather.Cursor
}

func (u *unit) Node() string                  { return u.node }
func (u *unit) Rank() int                     { return u.rank }
func (u *unit) Started()                      { u.t.push(event{kind: evPickup, u: u}) }
func (u *unit) Stdout() io.Writer             { return &u.out }
func (u *unit) MergedStderr() bool            { return u.w.merge }
func (u *unit) Stdin() worker.Input           { return u.input }
func (u *unit) Written(n int)                 { u.t.push(event{kind: evWritten, u: u, n: n}) }
func (u *unit) ConnectTimeout() time.Duration { return u.ctout }
func (u *unit) Stderr() io.Writer {
	if u.w.merge {
		return &u.out
	}
	return &u.errw
}
func (u *unit) Debugf(format string, args ...any) {
	u.t.mu.Lock()
	on := u.t.debug
	u.t.mu.Unlock()
	if on {
		u.t.push(event{kind: evDebug, text: u.node + ": " + fmt.Sprintf(format, args...)})
	}
}

// lineWriter splits a stream into lines and posts them in batches: one
// event and one copy of the data per Write, whatever the number of lines.
type lineWriter struct {
	mu      sync.Mutex
	u       *unit
	kind    evKind
	partial []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	last := bytes.LastIndexByte(p, '\n')
	if last < 0 {
		lw.partial = append(lw.partial, p...)
		return len(p), nil
	}
	var data []byte
	if len(lw.partial) > 0 {
		data = make([]byte, 0, len(lw.partial)+last+1)
		data = append(append(data, lw.partial...), p[:last+1]...)
		lw.partial = lw.partial[:0]
	} else {
		data = append([]byte(nil), p[:last+1]...)
	}
	lw.partial = append(lw.partial, p[last+1:]...)
	n := bytes.Count(data, []byte{'\n'})
	lines := make([][]byte, 0, n)
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		lines = append(lines, data[:i:i])
		data = data[i+1:]
	}
	lw.u.t.push(event{kind: lw.kind, u: lw.u, lines: lines})
	return len(p), nil
}

// flush posts a final line that had no newline.
func (lw *lineWriter) flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.partial) > 0 {
		line := bytes.Clone(lw.partial)
		lw.partial = nil
		lw.u.t.push(event{kind: lw.kind, u: lw.u, lines: [][]byte{line}, partial: true})
	}
}

// slot is one place in the fanout window: one node's run, or a batch of
// nodes run by one BatchDriver call.
type slot struct{ left int }

type loopState struct {
	queue  []*Worker // workers with nodes left to start, in order
	active int       // running units
	wg     sync.WaitGroup
	spare  []event
	ctx    context.Context
}

// Run runs every scheduled worker and timer, calling handlers, until no
// worker and no keep-alive timer is left. Work scheduled while it runs
// (from handlers or other goroutines) is started as soon as the fanout
// allows. Results of the previous run are dropped when Run starts.
//
// When ctx's deadline passes, every command is killed with its process
// group, and Run returns an error matching ErrTimeout (and
// context.DeadlineExceeded); when ctx is cancelled it returns ctx.Err();
// after Abort it returns an error matching ErrAborted. In all cases no
// process started by the task is left running and no goroutine is left
// behind when Run returns.
func (t *Task) Run(ctx context.Context) error {
	t.mu.Lock()
	if t.running {
		t.mu.Unlock()
		return ErrRunning
	}
	t.running = true
	t.done = make(chan struct{})
	t.abortReq.Store(false)
	t.workers = nil
	t.mu.Unlock()

	runCtx, cancel := context.WithCancel(ctx)
	t.loop = loopState{ctx: runCtx}
	err := t.run(runCtx, ctx)
	cancel()
	t.drain()

	t.mu.Lock()
	t.running = false
	close(t.done)
	t.mu.Unlock()
	return err
}

func (t *Task) run(runCtx, parent context.Context) error {
	clock := time.NewTimer(time.Hour)
	clock.Stop()
	defer clock.Stop()
	for {
		t.mu.Lock()
		inbox := t.inbox
		t.inbox = t.loop.spare[:0]
		added := t.newWorkers
		t.newWorkers = nil
		t.mu.Unlock()

		for _, w := range added {
			t.admit(w)
		}
		for i := range inbox {
			if t.abortReq.Load() {
				break
			}
			t.dispatch(&inbox[i])
			inbox[i] = event{}
		}
		t.loop.spare = inbox[:0]
		if t.abortReq.Load() {
			return fmt.Errorf("task: %w", ErrAborted)
		}
		next, alive := t.fireTimers()
		if t.abortReq.Load() {
			return fmt.Errorf("task: %w", ErrAborted)
		}
		t.startUnits(runCtx)

		if t.loop.active == 0 && len(t.loop.queue) == 0 && !alive && t.idle() {
			return nil
		}
		var tick <-chan time.Time
		if !next.IsZero() {
			clock.Reset(time.Until(next))
			tick = clock.C
		}
		select {
		case <-t.notify:
		case <-tick:
		case <-runCtx.Done():
			if errors.Is(parent.Err(), context.DeadlineExceeded) {
				return timeoutError{parent.Err()}
			}
			return fmt.Errorf("task: %w", parent.Err())
		}
		if tick != nil && !clock.Stop() {
			select {
			case <-clock.C:
			default:
			}
		}
	}
}

// drain waits, after the loop ended early, for every running node to stop
// (their contexts are cancelled). It calls no handler and records nothing
// for the stopped nodes: results of the nodes that ended before stay.
func (t *Task) drain() {
	t.loop.queue = nil
	for t.loop.active > 0 {
		<-t.notify
		t.mu.Lock()
		inbox := t.inbox
		t.inbox = nil
		t.mu.Unlock()
		for i := range inbox {
			if inbox[i].kind == evDone {
				t.release(inbox[i].u)
			}
		}
	}
	t.loop.wg.Wait()
	t.mu.Lock()
	t.inbox = nil
	t.newWorkers = nil
	for _, tm := range t.timers {
		tm.armed, tm.listed = false, false
	}
	t.timers = nil
	t.mu.Unlock()
	select {
	case <-t.notify:
	default:
	}
}

// idle reports whether nothing is queued for the loop and no keep-alive
// timer is armed (a handler run after fireTimers may have added one).
func (t *Task) idle() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.inbox) > 0 || len(t.newWorkers) > 0 {
		return false
	}
	for _, tm := range t.timers {
		if tm.armed && !tm.autoclose {
			return false
		}
	}
	return true
}

func (t *Task) admit(w *Worker) {
	t.workers = append(t.workers, w)
	w.rank = make(map[string]int, len(w.nodes))
	for i, n := range w.nodes {
		w.rank[n] = i
	}
	w.rc = make(map[string]worker.Status, len(w.nodes))
	w.running = make(map[*unit]struct{})
	t.mu.Lock()
	keep := t.keepOutput
	t.mu.Unlock()
	if keep {
		w.out = gather.New()
		if !w.merge {
			w.errs = gather.New()
		}
	}
	if len(w.nodes) == 0 {
		w.started, w.closed = true, true
		w.handler.OnStart(w)
		w.handler.OnClose(w, false)
		return
	}
	t.loop.queue = append(t.loop.queue, w)
}

// release frees u's share of its fanout slot.
func (t *Task) release(u *unit) {
	u.slot.left--
	if u.slot.left == 0 {
		t.loop.active--
	}
}

func (t *Task) newUnit(w *Worker, i int, ctout time.Duration, ctx context.Context, cancel context.CancelFunc, sl *slot) *unit {
	u := &unit{t: t, w: w, node: w.nodes[i], rank: i, ctout: ctout, ctx: ctx, cancel: cancel, slot: sl}
	u.out = lineWriter{u: u, kind: evOut}
	u.errw = lineWriter{u: u, kind: evErr}
	if w.input != nil {
		u.input = w.input.Reader()
	}
	if w.out != nil {
		u.outCur = w.out.Cursor(u.node)
	}
	if w.errs != nil {
		u.errCur = w.errs.Cursor(u.node)
	}
	w.running[u] = struct{}{}
	return u
}

func (w *Worker) context(runCtx context.Context) (context.Context, context.CancelFunc) {
	if w.timeout > 0 {
		return context.WithTimeout(runCtx, w.timeout)
	}
	return context.WithCancel(runCtx)
}

func (t *Task) startUnits(runCtx context.Context) {
	t.mu.Lock()
	fanout := max(t.fanout, 1)
	ctout := t.connectTimeout
	t.mu.Unlock()
	for t.loop.active < fanout && len(t.loop.queue) > 0 {
		if t.abortReq.Load() {
			return
		}
		w := t.loop.queue[0]
		if !w.started {
			w.started = true
			w.handler.OnStart(w)
		}
		if bd, ok := w.driver.(worker.BatchDriver); ok && w.next == 0 {
			t.startBatch(runCtx, w, bd, ctout)
			continue
		}
		i := w.next
		w.next++
		if w.next == len(w.nodes) {
			t.loop.queue = t.loop.queue[1:]
		}
		ctx, cancel := w.context(runCtx)
		u := t.newUnit(w, i, ctout, ctx, cancel, &slot{left: 1})
		w.active++
		t.loop.active++
		t.loop.wg.Go(func() {
			st, err := w.driver.Run(u.ctx, u)
			u.out.flush()
			u.errw.flush()
			u.t.push(event{kind: evDone, u: u, st: st, err: err})
		})
	}
}

// startBatch runs all of w's nodes with one RunAll call in one slot.
func (t *Task) startBatch(runCtx context.Context, w *Worker, bd worker.BatchDriver, ctout time.Duration) {
	w.next = len(w.nodes)
	t.loop.queue = t.loop.queue[1:]
	ctx, cancel := w.context(runCtx)
	sl := &slot{left: len(w.nodes)}
	units := make([]*unit, len(w.nodes))
	sessions := make([]worker.Session, len(w.nodes))
	for i := range w.nodes {
		units[i] = t.newUnit(w, i, ctout, ctx, cancel, sl)
		units[i].batch = true
		sessions[i] = units[i]
	}
	w.active += len(units)
	t.loop.active++
	t.loop.wg.Go(func() {
		sts, errs := bd.RunAll(ctx, sessions)
		for i, u := range units {
			u.out.flush()
			u.errw.flush()
			var st worker.Status
			var err error
			if i < len(sts) {
				st = sts[i]
			}
			if i < len(errs) {
				err = errs[i]
			} else if len(errs) < len(units) && ctx.Err() != nil {
				err = ctx.Err()
			}
			u.t.push(event{kind: evDone, u: u, st: st, err: err})
		}
	})
}

func (t *Task) pickup(u *unit) {
	if !u.picked {
		u.picked = true
		u.w.handler.OnPickup(u.w, u.node)
	}
}

func (t *Task) dispatch(ev *event) {
	u := ev.u
	switch ev.kind {
	case evFunc:
		ev.fn()
	case evDebug:
		t.debugLine(ev.text)
	case evPickup:
		t.pickup(u)
	case evOut, evErr:
		t.pickup(u)
		cur, h := u.outCur, u.w.handler.OnRead
		if ev.kind == evErr {
			cur, h = u.errCur, u.w.handler.OnError
		}
		if t.Debug() {
			for _, line := range ev.lines {
				t.debugLine(u.node + ": " + string(line))
			}
		}
		for i, line := range ev.lines {
			if cur != nil {
				if ev.partial && i == len(ev.lines)-1 {
					cur.AddUnterminated(line)
				} else {
					cur.Add(line)
				}
			}
			h(u.w, u.node, line)
		}
	case evWritten:
		u.w.handler.OnWritten(u.w, u.node, ev.n)
	case evDone:
		t.release(u)
		t.finish(u, ev.st, ev.err)
	}
}

func (t *Task) finish(u *unit, st worker.Status, err error) {
	w := u.w
	timedOut := errors.Is(u.ctx.Err(), context.DeadlineExceeded)
	if u.batch {
		timedOut = errors.Is(err, context.DeadlineExceeded)
	}
	timedOut = timedOut && t.loop.ctx.Err() == nil
	aborted := t.loop.ctx.Err() != nil || w.aborted && errors.Is(u.ctx.Err(), context.Canceled)
	delete(w.running, u)
	w.finished++
	if !u.batch || w.finished == len(w.nodes) {
		u.cancel()
	}
	t.pickup(u)
	w.active--
	switch {
	case timedOut:
		w.timedOut = append(w.timedOut, u.node)
		w.handler.OnTimeout(w, u.node)
	case aborted:
		// neither an exit code nor a timeout
	default:
		if err != nil {
			// The command could not run: report it on the node's stderr
			// (unless the transport did), exit code 255 (as ssh does for a
			// failed connection).
			var rep worker.Reported
			if !errors.As(err, &rep) || !rep.Reported() {
				line := []byte("muster: " + err.Error())
				if u.errCur != nil {
					u.errCur.Add(line)
				} else if u.outCur != nil && w.merge {
					u.outCur.Add(line)
				}
				if w.merge {
					w.handler.OnRead(w, u.node, line)
				} else {
					w.handler.OnError(w, u.node, line)
				}
			}
			st = worker.Exited(255)
			if w.nodeErr == nil {
				w.nodeErr = map[string]error{}
			}
			w.nodeErr[u.node] = err
		}
		w.rc[u.node] = st
		w.handler.OnHup(w, u.node, st.Code)
	}
	if w.finished == len(w.nodes) && !w.closed {
		w.closed = true
		w.handler.OnClose(w, len(w.timedOut) > 0)
	}
}
