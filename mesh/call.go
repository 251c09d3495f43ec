package mesh

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// function is a registered function adapted to raw CBOR arguments.
type function func(ctx context.Context, args []byte) (any, error)

var (
	funcsMu sync.RWMutex
	funcs   = map[string]function{}
)

// Register makes fn callable by name from any context with parent
// authority over this one (Call, CallAsync, CallNoReply). Both sides run
// the same binary, so register from init or before starting children.
// Register panics if name is taken.
func Register[A, R any](name string, fn func(ctx context.Context, a A) (R, error)) {
	funcsMu.Lock()
	defer funcsMu.Unlock()
	if _, dup := funcs[name]; dup {
		panic("mesh: function registered twice: " + name)
	}
	funcs[name] = func(ctx context.Context, raw []byte) (any, error) {
		var a A
		if len(raw) > 0 {
			if err := Decode(raw, &a); err != nil {
				return nil, fmt.Errorf("arguments of %s: %w", name, err)
			}
		}
		return fn(ctx, a)
	}
}

// callOut is the body of a call request as sent.
type callOut struct {
	_    struct{} `cbor:",toarray"`
	Fn   string
	Args any
}

// callIn is the body of a call request as received.
type callIn struct {
	_    struct{} `cbor:",toarray"`
	Fn   string
	Args cbor.RawMessage
}

// Call runs the function registered as fn in c with args and decodes its
// result into reply (a pointer, or nil to discard it). It returns a
// *CallError for an error raised by fn, a *ChannelError when c is gone or
// unreachable, or ctx's error.
func (c *Context) Call(ctx context.Context, fn string, args, reply any) error {
	return c.CallAsync(ctx, fn, args).Wait(ctx, reply)
}

// CallAsync starts a call of fn in c and returns at once.
func (c *Context) CallAsync(ctx context.Context, fn string, args any) *Pending {
	b, err := Encode(callOut{Fn: fn, Args: args})
	if err != nil {
		return failedPending(c, err)
	}
	return c.r.request(ctx, c.id, &Message{Dst: c.id, Handle: HandleCallFunction, Body: b})
}

// CallNoReply runs fn in c without waiting for or receiving its result;
// an error raised by fn is logged in c.
func (c *Context) CallNoReply(fn string, args any) error {
	b, err := Encode(callOut{Fn: fn, Args: args})
	if err != nil {
		return err
	}
	return c.r.post(&Message{Dst: c.id, Handle: HandleCallFunction, Body: b})
}

func (r *Router) handleCall(m *Message) {
	if !r.HasParentAuthority(m.Auth) {
		_ = r.dead(m, fmt.Sprintf("%s: context %d may not call functions in context %d (not a parent)", ReasonRefused, m.Auth, r.id))
		return
	}
	if err := r.dispatch(m, "run calls", func() { r.runCall(m) }); err != nil {
		_ = r.dead(m, err.Error())
	}
}

func (r *Router) runCall(m *Message) {
	var req callIn
	var res any
	err := Decode(m.Body, &req)
	if err == nil {
		funcsMu.RLock()
		fn := funcs[req.Fn]
		funcsMu.RUnlock()
		if fn == nil {
			err = &CallError{Type: "mesh.UnknownFunction", Msg: fmt.Sprintf("%v: %q is not registered in context %d", ErrUnknownFunction, req.Fn, r.id)}
		} else {
			res, err = r.safeCall(fn, req.Args)
		}
	}
	if m.ReplyTo == 0 {
		if err != nil {
			r.log.Error("mesh: call with no reply failed", "fn", req.Fn, "from", m.Auth, "err", err)
		}
		return
	}
	if err != nil {
		_ = m.ReplyError(err)
		return
	}
	if rerr := m.Reply(res); rerr != nil && !errors.Is(rerr, ErrClosed) {
		r.log.Debug("mesh: reply failed", "fn", req.Fn, "err", rerr)
	}
}

// safeCall runs fn, turning a panic into an error.
func (r *Router) safeCall(fn function, args []byte) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			ce := &CallError{Type: "panic", Msg: fmt.Sprint(p)}
			if r.cfg.Debug {
				ce.Stack = string(debug.Stack())
			}
			err = ce
		}
	}()
	return fn(r.runCtx, args)
}
