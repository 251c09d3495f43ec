package mesh

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// Receiver is a stream of messages arriving on one handle in this context.
// Hand its SenderRef to another context, which then sends with
// Router.Sender. Messages are queued until Recv takes them, up to a limit
// in bytes (SetLimit; by default four maximum-size messages, at least
// 256 MiB): a stream that outruns its reader past the limit is broken
// there, loudly. Recv returns what was queued, then a *ChannelError with
// ReasonOverflow; flow control (a window with acknowledgements, as
// package service's FileService uses) keeps a stream under it.
type Receiver struct {
	r      *Router
	h      Handle
	remove func()

	mu      sync.Mutex
	q       []*Message
	head    int
	notify  chan struct{}
	closed  bool
	unwatch []func() bool
	from    []ID // when set, the only contexts whose messages are taken

	bytes    int64 // bodies queued
	limit    int64 // at most this many; <= 0: no bound
	overflow *ChannelError
	dropped  int
}

// NewReceiver registers a Receiver on a fresh handle; buffer is the
// initial capacity of its queue.
func (r *Router) NewReceiver(buffer int) *Receiver {
	rc := &Receiver{r: r, h: r.NewHandle(), notify: make(chan struct{}, 1), q: make([]*Message, 0, max(buffer, 0)), limit: r.maxQueuedBytes()}
	rc.remove, _ = r.AddHandler(rc.h, rc.push) // a fresh handle is free
	return rc
}

// AcceptOnly makes the Receiver take messages only from the contexts ids
// (by authenticated source); any other message to its handle is dropped
// and logged, and answered with a dead message "refused" if it asked for a
// reply. A dead message from a router on the way to one of ids is still
// taken. A handle is a small number any context can guess: a stream from a
// known peer should say so before handing out its SenderRef. With no ids,
// every context is accepted again.
func (rc *Receiver) AcceptOnly(ids ...ID) {
	rc.mu.Lock()
	rc.from = slices.Clone(ids)
	rc.mu.Unlock()
}

func (rc *Receiver) push(m *Message) {
	rc.mu.Lock()
	if rc.from != nil && !rc.acceptsLocked(m) {
		rc.mu.Unlock()
		rc.r.log.Warn("mesh: dropping a message to a receiver from a context it does not accept", "handle", rc.h, "from", m.Auth)
		_ = rc.r.dead(m, fmt.Sprintf("%s: receiver %d in context %d does not accept messages from context %d", ReasonRefused, rc.h, rc.r.id, m.Auth))
		return
	}
	rc.enqueueLocked(m)
}

// acceptsLocked reports whether m comes from an accepted context, or is a
// dead message from a router on the way to one (it could not pass a
// message on).
func (rc *Receiver) acceptsLocked(m *Message) bool {
	for _, id := range rc.from {
		if m.Auth == id || (m.Dead() && rc.r.onPathTo(m.Auth, id)) {
			return true
		}
	}
	return false
}

// SetLimit sets how many bytes of message bodies may wait in the Receiver;
// n <= 0 removes the bound.
func (rc *Receiver) SetLimit(n int64) {
	rc.mu.Lock()
	rc.limit = n
	rc.mu.Unlock()
}

// enqueueLocked queues m (called with rc.mu held; unlocks it).
func (rc *Receiver) enqueueLocked(m *Message) {
	if rc.closed {
		rc.mu.Unlock()
		return
	}
	if of := rc.overflow; of != nil {
		rc.dropped++
		rc.mu.Unlock()
		_ = rc.r.dead(m, of.Reason) // a sender waiting for a reply is told
		return
	}
	n := int64(len(m.Body))
	if rc.limit > 0 && !m.Dead() && rc.bytes > 0 && rc.bytes+n > rc.limit {
		of := &ChannelError{Reason: fmt.Sprintf("%s: receiver %d in context %d had %d bytes waiting (limit %d) when a message of %d bytes from context %d came; the stream is broken there",
			ReasonOverflow, rc.h, rc.r.id, rc.bytes, rc.limit, n, m.Auth)}
		rc.overflow = of
		rc.dropped = 1
		rc.mu.Unlock()
		rc.r.log.Warn("mesh: a receiver overflowed; dropping the rest of its stream", "handle", rc.h, "from", m.Auth, "limit", rc.limit)
		_ = rc.r.dead(m, of.Reason)
		select {
		case rc.notify <- struct{}{}:
		default:
		}
		return
	}
	rc.bytes += n
	rc.q = append(rc.q, m)
	rc.mu.Unlock()
	select {
	case rc.notify <- struct{}{}:
	default:
	}
}

// Handle returns the handle the Receiver listens on.
func (rc *Receiver) Handle() Handle { return rc.h }

// Sender returns a serializable reference other contexts use to send here.
func (rc *Receiver) Sender() SenderRef { return SenderRef{Context: rc.r.id, Handle: rc.h} }

// Recv returns the next message. A dead message (the sender closed, or its
// context is gone) returns a *ChannelError; so does a closed Receiver or
// Router. ctx bounds the wait.
func (rc *Receiver) Recv(ctx context.Context) (*Message, error) {
	for {
		if m, err, ok := rc.tryRecv(); ok {
			return m, err
		}
		select {
		case <-rc.notify:
		case <-rc.r.done:
			if m, err, ok := rc.tryRecv(); ok {
				return m, err
			}
			return nil, &ChannelError{Reason: ReasonShutdown + ": router closed"}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Watch makes Recv return a *ChannelError (ReasonDisconnected), after any
// messages already queued, once c is gone: a stream from c then never
// hangs its reader. Watch c from the side that waits on messages c sends.
func (rc *Receiver) Watch(c *Context) {
	stop := c.AfterGone(func(err error) {
		reason := ReasonDisconnected + ": " + c.String() + " is gone"
		var ce *ChannelError
		if errors.As(err, &ce) {
			reason = ce.Reason
		}
		rc.mu.Lock()
		rc.enqueueLocked(&Message{Dst: rc.r.id, Src: c.id, Auth: c.id, Handle: rc.h, Flags: FlagDead | FlagRaw, Body: []byte(reason)})
	})
	rc.mu.Lock()
	rc.unwatch = append(rc.unwatch, stop)
	rc.mu.Unlock()
}

// Select waits until one of rcs has a message (or a dead message) and
// returns its index with what Recv would return for it. Receivers are
// tried in order, so an earlier one is favoured when several are ready.
func Select(ctx context.Context, rcs ...*Receiver) (int, *Message, error) {
	if len(rcs) == 0 {
		return -1, nil, errors.New("mesh: Select of no receivers")
	}
	cases := make([]reflect.SelectCase, 0, len(rcs)+2)
	for _, rc := range rcs {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(rc.notify)})
	}
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	// Receivers may belong to several Routers (in one process): watch each
	// one's closing.
	var routers []*Router
	for _, rc := range rcs {
		if !slices.Contains(routers, rc.r) {
			routers = append(routers, rc.r)
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(rc.r.done)})
		}
	}
	for {
		for i, rc := range rcs {
			if m, err, ok := rc.tryRecv(); ok {
				return i, m, err
			}
		}
		i, _, _ := reflect.Select(cases)
		switch {
		case i < len(rcs):
			// rcs[i] was notified: look again
		case i == len(rcs):
			return -1, nil, ctx.Err()
		default:
			closed := routers[i-len(rcs)-1]
			for j, rc := range rcs {
				if m, err, ok := rc.tryRecv(); ok {
					return j, m, err
				}
			}
			for j, rc := range rcs {
				if rc.r == closed {
					return j, nil, &ChannelError{Reason: ReasonShutdown + ": router closed"}
				}
			}
		}
	}
}

// tryRecv returns the next message without waiting; ok is false when none
// is queued and the Receiver is open.
func (rc *Receiver) tryRecv() (m *Message, err error, ok bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.head < len(rc.q) {
		m = rc.q[rc.head]
		rc.q[rc.head] = nil
		rc.head++
		rc.bytes -= int64(len(m.Body))
		if rc.head == len(rc.q) {
			rc.q, rc.head = rc.q[:0], 0
		}
		if m.Dead() {
			return nil, m.Err(), true
		}
		return m, nil, true
	}
	if rc.overflow != nil {
		return nil, rc.overflow, true
	}
	if rc.closed {
		return nil, &ChannelError{Reason: ReasonShutdown + ": receiver closed"}, true
	}
	return nil, nil, false
}

// Close unregisters the Receiver; pending and later Recv calls fail.
func (rc *Receiver) Close() {
	rc.remove()
	rc.mu.Lock()
	for _, stop := range rc.unwatch {
		stop()
	}
	rc.unwatch = nil
	rc.mu.Unlock()
	rc.mu.Lock()
	rc.closed = true
	rc.q, rc.head = nil, 0
	rc.mu.Unlock()
	select {
	case rc.notify <- struct{}{}:
	default:
	}
}
