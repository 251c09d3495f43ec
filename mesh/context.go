package mesh

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Context is a handle on a context of the tree as seen from one Router:
// a child, a deeper descendant, a parent, or this process (Myself).
type Context struct {
	r    *Router
	id   ID
	name string

	once    sync.Once
	done    chan struct{}
	err     error
	link    *link // the direct link, for a child started by this Router
	mu      sync.Mutex
	onGone  map[int]func(error)
	nextCB  int
	goneSet bool
}

func newContext(r *Router, id ID, name string) *Context {
	return &Context{r: r, id: id, name: name, done: make(chan struct{})}
}

// gone marks c as unreachable for err.
func (c *Context) gone(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
		c.mu.Lock()
		cbs := c.onGone
		c.onGone, c.goneSet = nil, true
		c.mu.Unlock()
		for _, fn := range cbs {
			fn(err)
		}
	})
}

// AfterGone arranges for fn to run once c is known gone, with the reason
// (what Err returns). fn runs on the goroutine that learns it (a link
// reader, or Close), or on a goroutine of its own when c is already gone;
// it must not block. stop unregisters fn and reports whether that kept it
// from running, like context.AfterFunc.
func (c *Context) AfterGone(fn func(err error)) (stop func() bool) {
	c.mu.Lock()
	if c.goneSet {
		c.mu.Unlock()
		go fn(c.err)
		return func() bool { return false }
	}
	if c.onGone == nil {
		c.onGone = map[int]func(error){}
	}
	k := c.nextCB
	c.nextCB++
	c.onGone[k] = fn
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.onGone[k]
		delete(c.onGone, k)
		return ok
	}
}

// ID returns the context's id.
func (c *Context) ID() ID { return c.id }

// Name returns the name given when the context was started ("" if unknown).
func (c *Context) Name() string { return c.name }

// Router returns the Router c belongs to.
func (c *Context) Router() *Router { return c.r }

// Done is closed once the context is known to be gone (it exited, its link
// dropped, or the Router closed).
func (c *Context) Done() <-chan struct{} { return c.done }

// Err returns why the context is gone (a *ChannelError), nil while it is
// reachable.
func (c *Context) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// String names the context for logs and errors.
func (c *Context) String() string {
	if c.name != "" {
		return fmt.Sprintf("context %d (%s)", c.id, c.name)
	}
	return fmt.Sprintf("context %d", c.id)
}

// Send sends v to handle h in c without expecting a reply.
func (c *Context) Send(h Handle, v any) error {
	b, err := Encode(v)
	if err != nil {
		return err
	}
	return c.r.post(&Message{Dst: c.id, Handle: h, Body: b})
}

// Request sends v to handle h in c with a reply handle; the Pending
// resolves with the reply, a dead message, c disconnecting, or ctx ending.
func (c *Context) Request(ctx context.Context, h Handle, v any) *Pending {
	b, err := Encode(v)
	if err != nil {
		return failedPending(c, err)
	}
	return c.r.request(ctx, c.id, &Message{Dst: c.id, Handle: h, Body: b})
}

// Shutdown asks c to shut down (with its own children) and waits until it
// is gone or ctx ends. A direct child that outlives the Router's
// ShutdownGrace is killed. Shutdown of Myself closes the Router.
func (c *Context) Shutdown(ctx context.Context) error {
	if c.id == c.r.id {
		return c.r.Close(ctx)
	}
	if err := c.r.post(&Message{Dst: c.id, Handle: HandleShutdown}); err != nil {
		select {
		case <-c.done:
			return nil
		default:
		}
		return err
	}
	c.r.mu.RLock()
	l := c.link
	c.r.mu.RUnlock()
	if l != nil {
		l.close()
	}
	timer := time.NewTimer(c.r.cfg.ShutdownGrace)
	defer timer.Stop()
	select {
	case <-c.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	if l != nil && l.kill != nil {
		l.kill()
		select {
		case <-c.done:
			return nil
		case <-ctx.Done():
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mesh: shutting down %v: %w", c, err)
	}
	return fmt.Errorf("mesh: shutting down %v: not gone after the grace period: %w", c, context.DeadlineExceeded)
}
