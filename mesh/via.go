package mesh

import (
	"context"
	"fmt"
	"time"
)

// startReq asks a context to start a child of its own (Via).
type startReq struct {
	_     struct{} `cbor:",toarray"`
	Kind  string   // "local" or "ssh"
	Name  string
	Path  string
	Args  []string
	Env   []string
	Host  string
	SSH   []string
	Cache string
	// Timeout is the connect timeout.
	Timeout time.Duration
}

// startResp is the answer: the new child's id and name.
type startResp struct {
	_    struct{} `cbor:",toarray"`
	ID   ID
	Name string
}

// Local starts a child of c on c's machine ("via" c). For c == Myself it is
// Router.Local.
func (c *Context) Local(ctx context.Context, o LocalOptions) (*Context, error) {
	if c.id == c.r.id {
		return c.r.Local(ctx, o)
	}
	return c.startVia(ctx, startReq{Kind: "local", Name: o.Name, Path: o.Path, Args: o.Args, Env: o.Env, Timeout: o.ConnectTimeout})
}

// SSH starts a child of c on a host reached over ssh from c's machine.
// For c == Myself it is Router.SSH. o.Client is not sent: the child of c
// uses a client built from o.SSHArgs.
func (c *Context) SSH(ctx context.Context, o SSHOptions) (*Context, error) {
	if c.id == c.r.id {
		return c.r.SSH(ctx, o)
	}
	return c.startVia(ctx, startReq{Kind: "ssh", Name: o.Name, Host: o.Host, Env: o.Env, SSH: o.SSHArgs, Cache: o.CacheDir, Timeout: o.ConnectTimeout})
}

func (c *Context) startVia(ctx context.Context, req startReq) (*Context, error) {
	var resp startResp
	if err := c.Request(ctx, HandleStart, req).Wait(ctx, &resp); err != nil {
		return nil, fmt.Errorf("%w %q via %v: %w", ErrStart, req.Name, c, err)
	}
	return c.r.descendant(resp.ID, resp.Name), nil
}

// handleStart starts a child for a parent (on the Scheduler: it blocks).
func (r *Router) handleStart(m *Message) {
	if !r.HasParentAuthority(m.Auth) || m.Auth == r.id {
		_ = r.dead(m, fmt.Sprintf("%s: context %d may not start children of context %d", ReasonRefused, m.Auth, r.id))
		return
	}
	var req startReq
	if err := m.Decode(&req); err != nil {
		_ = m.ReplyError(err)
		return
	}
	err := r.dispatch(m, "start children", func() {
		ctx := r.runCtx
		var c *Context
		var err error
		switch req.Kind {
		case "local":
			c, err = r.Local(ctx, LocalOptions{Name: req.Name, Path: req.Path, Args: req.Args, Env: req.Env, ConnectTimeout: req.Timeout})
		case "ssh":
			c, err = r.SSH(ctx, SSHOptions{Name: req.Name, Host: req.Host, Env: req.Env, SSHArgs: req.SSH, CacheDir: req.Cache, ConnectTimeout: req.Timeout})
		default:
			err = fmt.Errorf("mesh: unknown child kind %q, want local or ssh", req.Kind)
		}
		if err != nil {
			_ = m.ReplyError(err)
			return
		}
		_ = m.Reply(startResp{ID: c.id, Name: c.name})
	})
	if err != nil {
		_ = r.dead(m, err.Error())
	}
}
