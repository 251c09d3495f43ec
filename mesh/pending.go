package mesh

import (
	"context"
	"sync"
)

// Pending is a request in flight (CallAsync, Request).
type Pending struct {
	r    *Router
	dst  ID
	h    Handle
	done chan struct{}
	msg  *Message
	err  error
	once sync.Once

	mu       sync.Mutex
	stop     func() bool // stops the ctx watch
	resolved bool
}

func failedPending(c *Context, err error) *Pending {
	p := &Pending{r: c.r, dst: c.id, done: make(chan struct{})}
	p.resolve(nil, err)
	return p
}

// request sends m with a fresh reply handle and returns its Pending.
func (r *Router) request(ctx context.Context, dst ID, m *Message) *Pending {
	p := &Pending{r: r, dst: dst, h: r.NewHandle(), done: make(chan struct{})}
	if !r.addPending(p) {
		p.resolve(nil, &ChannelError{Reason: ReasonShutdown + ": router closed"})
		return p
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			if r.dropPending(p) {
				p.resolve(nil, ctx.Err())
			}
		})
		p.mu.Lock()
		if p.resolved {
			p.mu.Unlock()
			stop()
		} else {
			p.stop = stop
			p.mu.Unlock()
		}
	}
	m.ReplyTo = p.h
	_ = r.post(m) // a failure arrives as a dead reply
	return p
}

// resolve settles p once, and releases its watch of the caller's ctx so
// that a long-lived ctx does not keep every answered request alive.
func (p *Pending) resolve(m *Message, err error) {
	p.once.Do(func() {
		p.msg, p.err = m, err
		p.mu.Lock()
		p.resolved = true
		stop := p.stop
		p.stop = nil
		p.mu.Unlock()
		close(p.done)
		if stop != nil {
			stop()
		}
	})
}

// Done is closed when the reply (or the error standing for it) is in.
func (p *Pending) Done() <-chan struct{} { return p.done }

// Wait waits for the reply and decodes it into reply (nil discards it). It
// returns a *CallError, a *ChannelError, or ctx's error; when ctx ends the
// request is abandoned (a late reply is dropped).
func (p *Pending) Wait(ctx context.Context, reply any) error {
	select {
	case <-p.done:
	default:
		select {
		case <-p.done:
		case <-ctx.Done():
			if p.r.dropPending(p) {
				p.resolve(nil, ctx.Err())
			}
			<-p.done
		}
	}
	if p.err != nil {
		return p.err
	}
	return p.msg.Decode(reply)
}

// Message returns the raw reply once Done is closed, nil before or when the
// request failed without one.
func (p *Pending) Message() *Message {
	select {
	case <-p.done:
		return p.msg
	default:
		return nil
	}
}
