package task

import "time"

// Timer fires its handler's OnTimer on the task's goroutine after a delay,
// once or repeatedly. Its methods are safe from any goroutine.
type Timer struct {
	t         *Task
	h         Handler
	next      time.Time
	interval  time.Duration
	armed     bool
	valid     bool
	autoclose bool
	listed    bool // in t.timers
}

// TimerOption configures a timer.
type TimerOption func(*Timer)

// Every makes the timer repeat at interval after its first firing.
func Every(interval time.Duration) TimerOption { return func(tm *Timer) { tm.interval = interval } }

// Autoclose makes the timer not keep the task running: Run returns when
// only autoclose timers are left.
func Autoclose() TimerOption { return func(tm *Timer) { tm.autoclose = true } }

// Timer adds a timer that fires h.OnTimer after fire (counted from now;
// if the task is not running yet, the timer fires as soon as it runs once
// the delay has passed). A pending timer keeps the task running unless
// made with Autoclose. Timers end with the run they fired in.
func (t *Task) Timer(fire time.Duration, h Handler, opts ...TimerOption) *Timer {
	tm := &Timer{t: t, h: h, next: time.Now().Add(fire), armed: true, valid: true, listed: true}
	for _, o := range opts {
		o(tm)
	}
	t.mu.Lock()
	t.timers = append(t.timers, tm)
	t.mu.Unlock()
	t.wake()
	return tm
}

// Task returns the timer's task.
func (tm *Timer) Task() *Task { return tm.t }

// SetNextFire re-arms the timer to fire after fire from now, then every
// interval if interval > 0 (otherwise once). It revives a timer that has
// fired but not one that was invalidated.
func (tm *Timer) SetNextFire(fire, interval time.Duration) {
	tm.t.mu.Lock()
	if tm.valid {
		tm.next = time.Now().Add(fire)
		tm.interval = interval
		tm.armed = true
		if !tm.listed {
			tm.listed = true
			tm.t.timers = append(tm.t.timers, tm)
		}
	}
	tm.t.mu.Unlock()
	tm.t.wake()
}

// Invalidate cancels the timer for good.
func (tm *Timer) Invalidate() {
	tm.t.mu.Lock()
	tm.valid = false
	tm.armed = false
	tm.t.mu.Unlock()
	tm.t.wake()
}

// Valid reports whether the timer can still fire.
func (tm *Timer) Valid() bool {
	tm.t.mu.Lock()
	defer tm.t.mu.Unlock()
	return tm.valid && tm.armed
}

// fireTimers calls the handlers of due timers; it returns the next firing
// time (zero if none) and whether a keep-alive timer is pending.
func (t *Task) fireTimers() (next time.Time, alive bool) {
	now := time.Now()
	var due []*Timer
	t.mu.Lock()
	for _, tm := range t.timers {
		if tm.armed && !tm.next.After(now) {
			due = append(due, tm)
			if tm.interval > 0 {
				tm.next = now.Add(tm.interval)
			} else {
				tm.armed = false
			}
		}
	}
	t.mu.Unlock()
	for _, tm := range due {
		if t.abortReq.Load() {
			break
		}
		tm.h.OnTimer(tm)
	}
	t.mu.Lock()
	live := t.timers[:0]
	for _, tm := range t.timers {
		if !tm.armed {
			tm.listed = false
			continue
		}
		live = append(live, tm)
		if next.IsZero() || tm.next.Before(next) {
			next = tm.next
		}
		if !tm.autoclose {
			alive = true
		}
	}
	clear(t.timers[len(live):])
	t.timers = live
	t.mu.Unlock()
	return next, alive
}
