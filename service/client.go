package service

import (
	"context"
	"fmt"
	"sync"

	"github.com/muster-sh/muster/mesh"
)

// Call calls method of service in the context c with the arguments req (a
// struct, a map, or nil for none) and decodes the result into resp (a
// pointer, or nil to discard it). It blocks until the answer arrives or ctx
// ends. A refused or failed call returns an [*Error]; a context or link that
// is gone returns a *mesh.ChannelError.
func Call(ctx context.Context, c *mesh.Context, service, method string, req, resp any) error {
	return CallAsync(ctx, c, service, method, req).Wait(ctx, resp)
}

// CallAsync sends the call and returns at once; [Pending.Wait] gets the
// result. ctx bounds the wait: when it ends, the Pending resolves with its
// error. The cancellation is not sent to the serving context, whose method
// runs to completion.
func CallAsync(ctx context.Context, c *mesh.Context, service, method string, req any) *Pending {
	p := &Pending{service: service, method: method}
	body, err := encodeRequest(service, method, req)
	if err != nil {
		p.err = err
		return p
	}
	p.p = c.Request(ctx, mesh.HandleCallService, body)
	return p
}

// CallNoReply sends the call and expects no answer: the serving Pool logs
// a failure instead of replying.
func CallNoReply(c *mesh.Context, service, method string, req any) error {
	body, err := encodeRequest(service, method, req)
	if err != nil {
		return err
	}
	return c.Send(mesh.HandleCallService, body)
}

func encodeRequest(service, method string, req any) (*request, error) {
	r := &request{Service: service, Method: method}
	if req != nil {
		b, err := wireEnc.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("service: encoding the arguments of %s.%s: %w", service, method, err)
		}
		r.Args = b
	}
	return r, nil
}

// Pending is a service call in progress.
type Pending struct {
	service, method string
	p               *mesh.Pending
	err             error
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Done returns a channel closed once the answer (or a failure) is in.
func (p *Pending) Done() <-chan struct{} {
	if p.p == nil {
		return closedChan
	}
	return p.p.Done()
}

// Wait waits for the answer and decodes it into resp (nil: discard it). It
// may be called more than once.
func (p *Pending) Wait(ctx context.Context, resp any) error {
	if p.err != nil {
		return p.err
	}
	var r response
	if err := p.p.Wait(ctx, &r); err != nil {
		return err
	}
	if r.Err != nil {
		return r.Err.toError()
	}
	if resp == nil {
		return nil
	}
	if err := looseDec.Unmarshal(r.Result, resp); err != nil {
		return fmt.Errorf("service: decoding the result of %s.%s into %T: %w", p.service, p.method, resp, err)
	}
	return nil
}

// Ref is a typed handle on one method of a service, for callers:
//
//	var add = service.Ref[AddReq, AddResp]{Service: "example.Calc", Method: "add"}
//	sum, err := add.Call(ctx, child, AddReq{A: 1, B: 2})
type Ref[Req, Resp any] struct {
	Service, Method string
}

// Call calls the method in c with req and returns its result.
func (r Ref[Req, Resp]) Call(ctx context.Context, c *mesh.Context, req Req) (Resp, error) {
	var resp Resp
	err := Call(ctx, c, r.Service, r.Method, req, &resp)
	return resp, err
}

// pools maps each Router to the Pool listening on it.
var pools sync.Map // *mesh.Router -> *Pool

// PoolOf returns the Pool listening on r, or nil. In an agent, the Pool is
// the one created when the agent started.
func PoolOf(r *mesh.Router) *Pool {
	if p, ok := pools.Load(r); ok {
		return p.(*Pool)
	}
	return nil
}

func init() {
	// Every agent serves services: its Pool starts with the agent, so that a
	// parent's first call can activate a registered service.
	mesh.OnAgent(func(r *mesh.Router) {
		p, err := NewPool(r, Config{Debug: r.Config().Debug, Logger: r.Config().Logger})
		if err != nil {
			if l := r.Config().Logger; l != nil {
				l.Error("service: no pool in this agent", "err", err)
			}
			return
		}
		go func() { // ends with the agent's Router
			<-r.Done()
			ctx, cancel := context.WithTimeout(context.Background(), r.Config().ShutdownGrace)
			defer cancel()
			_ = p.Close(ctx)
		}()
	})
}
