package mesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muster-sh/muster/sched"
)

// Router is one process's endpoint in a tree of contexts. It owns the links
// to the process's parent (in a child) and children, routes messages
// between them and to local handlers, and starts children. A Router is safe
// for concurrent use.
type Router struct {
	cfg       Config
	log       *slog.Logger
	id        ID
	parentIDs []ID

	hmu      sync.RWMutex
	handlers map[Handle]func(*Message)

	pmu     sync.Mutex
	pending map[Handle]*Pending

	nextHandle atomic.Uint32

	mu       sync.RWMutex
	parent   *link
	links    map[*link]struct{} // child links
	routes   map[ID]*link       // context -> the child link it is reached through
	contexts map[ID]*Context
	closed   bool

	idMu            sync.Mutex
	idNext, idLimit ID
	idWait          *idRequest // the block request in flight, if any

	// backlog holds calls and other work arriving on links while the
	// Scheduler's queue is full: a link reader never waits for room.
	backlog      *sched.Backlog
	queuedBytes  atomic.Int64    // bodies of the messages dispatched, not yet run
	submitCtx    context.Context // ends when Close begins
	submitCancel context.CancelFunc

	runCtx    context.Context // cancelled when Close ends; passed to called functions
	runCancel context.CancelFunc
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	myself    *Context
}

// NewRouter returns a root Router (context id 0).
func NewRouter(cfg Config) (*Router, error) {
	return newRouter(cfg, 0, nil)
}

func newRouter(cfg Config, id ID, parentIDs []ID) (*Router, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Router{
		cfg:       cfg,
		log:       cfg.Logger,
		id:        id,
		parentIDs: parentIDs,
		handlers:  map[Handle]func(*Message){},
		pending:   map[Handle]*Pending{},
		links:     map[*link]struct{}{},
		routes:    map[ID]*link{},
		contexts:  map[ID]*Context{},
		done:      make(chan struct{}),
	}
	r.nextHandle.Store(uint32(FirstDynamicHandle) - 1)
	if id == 0 {
		r.idNext, r.idLimit = 1, ^ID(0)
	}
	r.runCtx, r.runCancel = context.WithCancel(context.WithValue(context.Background(), routerKey{}, r))
	r.submitCtx, r.submitCancel = context.WithCancel(context.Background())
	r.backlog = sched.NewBacklog(r.submitCtx, cfg.Scheduler, maxBacklog)
	r.myself = newContext(r, id, "")
	r.contexts[id] = r.myself
	r.handlers[HandleCallFunction] = r.handleCall
	r.handlers[HandleAddRoute] = r.handleAddRoute
	r.handlers[HandleDelRoute] = r.handleDelRoute
	r.handlers[HandleShutdown] = r.handleShutdown
	r.handlers[HandleStart] = r.handleStart
	r.handlers[HandleAllocateID] = r.handleAllocateID
	return r, nil
}

type routerKey struct{}

// FromContext returns the Router running a registered function, from the
// ctx the function received; nil for any other ctx.
func FromContext(ctx context.Context) *Router {
	r, _ := ctx.Value(routerKey{}).(*Router)
	return r
}

// ID returns this context's id.
func (r *Router) ID() ID { return r.id }

// ParentIDs returns the ids of this context's parents, the immediate
// parent first and the root last; nil at the root.
func (r *Router) ParentIDs() []ID { return slices.Clone(r.parentIDs) }

// HasParentAuthority reports whether id is this context or one of its
// parents: the contexts allowed to call functions and to start or stop
// children here.
func (r *Router) HasParentAuthority(id ID) bool {
	return id == r.id || slices.Contains(r.parentIDs, id)
}

// Config returns the configuration in effect, defaults filled in.
func (r *Router) Config() Config { return r.cfg }

// Done is closed when the Router has closed.
func (r *Router) Done() <-chan struct{} { return r.done }

// Myself returns the Context for this process.
func (r *Router) Myself() *Context { return r.myself }

// Context returns the Context for id, or nil if no route to id is known.
// A context reached through the parent (a parent or a sibling's subtree)
// is known once a route or a parent id names it.
func (r *Router) Context(id ID) *Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.contexts[id]; c != nil {
		return c
	}
	if r.closed {
		return nil
	}
	if _, ok := r.routes[id]; ok || slices.Contains(r.parentIDs, id) {
		c := newContext(r, id, "")
		r.contexts[id] = c
		return c
	}
	return nil
}

// descendant returns the Context for id, a context below this one that a
// child has just started. When its route is already gone (it exited, or
// its DEL_ROUTE overtook the start reply) or the Router is closed, the
// Context comes back gone: no later DEL_ROUTE would tell it.
func (r *Router) descendant(id ID, name string) *Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.contexts[id]; c != nil {
		return c
	}
	c := newContext(r, id, name)
	switch {
	case r.closed:
		c.gone(&ChannelError{Reason: ReasonShutdown + ": router closed"})
	case r.routes[id] == nil:
		c.gone(&ChannelError{Reason: fmt.Sprintf("%s: context %d is gone", ReasonDisconnected, id)})
	default:
		r.contexts[id] = c
	}
	return c
}

// NextHop returns the directly connected context through which id is
// reached: id itself for a child, the child whose subtree holds it, or the
// parent. It returns false when id is this context or unreachable.
func (r *Router) NextHop(id ID) (ID, bool) {
	if id == r.id {
		return 0, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if l := r.routes[id]; l != nil {
		return l.peer, true
	}
	if r.parent != nil {
		return r.parent.peer, true
	}
	return 0, false
}

// NewHandle returns a fresh dynamic handle.
func (r *Router) NewHandle() Handle { return Handle(r.nextHandle.Add(1)) }

// AddHandler calls fn for every message that reaches handle h in this
// context. fn runs on the reader goroutine of the link the message came
// from (or the sender's goroutine for a local message): it must not block;
// long work belongs on the Scheduler. remove unregisters it.
func (r *Router) AddHandler(h Handle, fn func(*Message)) (remove func(), err error) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	if _, ok := r.handlers[h]; ok {
		return nil, fmt.Errorf("%w: %d", ErrHandleTaken, h)
	}
	r.handlers[h] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			r.hmu.Lock()
			delete(r.handlers, h)
			r.hmu.Unlock()
		})
	}, nil
}

// post sends a message that originates here.
func (r *Router) post(m *Message) error {
	m.Src, m.Auth = r.id, r.id
	return r.route(m, nil)
}

// nextLink returns the link toward dst, nil for this context; ok is false
// without a route.
func (r *Router) nextLink(dst ID) (l *link, ok bool) {
	if dst == r.id {
		return nil, true
	}
	r.mu.RLock()
	l = r.routes[dst]
	if l == nil {
		l = r.parent
	}
	r.mu.RUnlock()
	return l, l != nil
}

// reach returns the link a message from id must arrive on: the child link
// routing it, or the parent link for anything else but this context.
func (r *Router) reachLocked(id ID) *link {
	if l := r.routes[id]; l != nil {
		return l
	}
	if id == r.id {
		return nil
	}
	return r.parent
}

// route delivers m locally or forwards it. from is the link m arrived on,
// nil for a local message. A message that cannot go on is answered with a
// dead message; for a local message the reason is also returned.
func (r *Router) route(m *Message, from *link) error {
	_, err := r.routeVia(m, from)
	return err
}

// forward routes m, which arrived on from, and returns the link it was
// queued on when that link's queue is past highWater: the caller should
// wait for room before reading on.
func (r *Router) forward(m *Message, from *link) *link {
	l, _ := r.routeVia(m, from)
	if l == nil {
		return nil
	}
	l.mu.Lock()
	full := l.qbytes > highWater
	l.mu.Unlock()
	if full {
		return l
	}
	return nil
}

// routeVia is route, returning the link m was queued on (nil when it was
// delivered here or answered as dead).
func (r *Router) routeVia(m *Message, from *link) (*link, error) {
	if from != nil {
		r.mu.RLock()
		okAuth := r.reachLocked(m.Auth) == from
		okSrc := m.Src == m.Auth || r.reachLocked(m.Src) == from
		r.mu.RUnlock()
		if !okAuth || !okSrc {
			r.log.Warn("mesh: dropping a message whose source does not match its link",
				"link", from.peer, "auth", m.Auth, "src", m.Src, "dst", m.Dst, "handle", m.Handle)
			return nil, nil
		}
	}
	if len(m.Body) > r.cfg.MaxMessageSize {
		return nil, r.dead(m, fmt.Sprintf("%s: message of %d bytes exceeds the maximum %d", ReasonTooLarge, len(m.Body), r.cfg.MaxMessageSize))
	}
	if m.Dst == r.id {
		r.deliver(m)
		return nil, nil
	}
	r.mu.RLock()
	l := r.routes[m.Dst]
	if l == nil && (from == nil || !from.parent) {
		l = r.parent
	}
	r.mu.RUnlock()
	if l == nil || l == from {
		return nil, r.dead(m, fmt.Sprintf("%s to context %d from context %d", ReasonNoRoute, m.Dst, r.id))
	}
	if err := l.send(m); err != nil {
		return nil, r.dead(m, fmt.Sprintf("%s: link to context %d closed", ReasonDisconnected, l.peer))
	}
	return l, nil
}

// dead answers m with a dead message carrying reason, when m asked for a
// reply, and returns the reason as a *ChannelError.
func (r *Router) dead(m *Message, reason string) error {
	err := &ChannelError{Reason: reason}
	if m.Dead() {
		return err
	}
	if m.ReplyTo == 0 {
		r.log.Debug("mesh: dropping a message", "dst", m.Dst, "src", m.Src, "handle", m.Handle, "reason", reason)
		return err
	}
	d := &Message{Dst: m.Src, Src: r.id, Auth: r.id, Handle: m.ReplyTo, Flags: FlagDead | FlagRaw, Body: []byte(reason)}
	if d.Dst == r.id {
		r.deliver(d)
	} else {
		_ = r.route(d, nil)
	}
	return err
}

// deliver hands a message for this context to its waiter or handler.
func (r *Router) deliver(m *Message) {
	m.router = r
	r.pmu.Lock()
	p := r.pending[m.Handle]
	if p != nil {
		if m.Auth != p.dst && !(m.Dead() && r.onPathTo(m.Auth, p.dst)) {
			r.pmu.Unlock()
			r.log.Warn("mesh: dropping a reply from the wrong context", "handle", m.Handle, "from", m.Auth, "want", p.dst)
			return
		}
		delete(r.pending, m.Handle)
	}
	r.pmu.Unlock()
	if p != nil {
		p.resolve(m, nil)
		return
	}
	r.hmu.RLock()
	fn := r.handlers[m.Handle]
	r.hmu.RUnlock()
	if fn == nil {
		_ = r.dead(m, fmt.Sprintf("%s %d in context %d", ReasonInvalidHandle, m.Handle, r.id))
		return
	}
	fn(m)
}

// onPathTo reports whether a dead reply from context from may stand for a
// reply from dst: it comes from this context, or from the direction in
// which dst lies (the same link), where the routers that could not pass
// the request on are. A context elsewhere in the tree cannot fail another
// context's request by guessing its reply handle.
func (r *Router) onPathTo(from, dst ID) bool {
	if from == r.id {
		return true
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.reachLocked(from) == r.reachLocked(dst)
}

// addPending registers p to receive the reply on p.h.
func (r *Router) addPending(p *Pending) bool {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	select {
	case <-r.done:
		return false
	default:
	}
	r.pending[p.h] = p
	return true
}

// dropPending removes p; it reports whether p was still waiting.
func (r *Router) dropPending(p *Pending) bool {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	if r.pending[p.h] == p {
		delete(r.pending, p.h)
		return true
	}
	return false
}

// failPending resolves every waiter whose reply would come from a context
// for which gone returns true.
func (r *Router) failPending(gone func(ID) bool, reason string) {
	var ps []*Pending
	r.pmu.Lock()
	for h, p := range r.pending {
		if gone(p.dst) {
			delete(r.pending, h)
			ps = append(ps, p)
		}
	}
	r.pmu.Unlock()
	for _, p := range ps {
		p.resolve(nil, &ChannelError{Reason: reason})
	}
}

// linkDown forgets a closed link and every context reached through it, and
// tells the rest of the tree.
func (r *Router) linkDown(l *link) {
	reason := fmt.Sprintf("%s: link to context %d (%s) closed", ReasonDisconnected, l.peer, l.name)
	l.mu.Lock()
	lerr := l.err
	l.mu.Unlock()
	if lerr != nil && !errors.Is(lerr, io.EOF) {
		reason += ": " + lerr.Error()
	}
	if l.stderr != nil {
		if line := l.stderr.telling(); line != "" {
			reason += "; its stderr: " + line
		}
	}
	r.mu.Lock()
	var gone []ID
	var ctxs []*Context
	if l.parent {
		r.parent = nil
	} else {
		delete(r.links, l)
	}
	for id, via := range r.routes {
		if via == l {
			delete(r.routes, id)
			gone = append(gone, id)
		}
	}
	if l.parent {
		for id := range r.contexts {
			if id != r.id && r.routes[id] == nil {
				gone = append(gone, id)
			}
		}
	}
	for _, id := range gone {
		if c := r.contexts[id]; c != nil {
			ctxs = append(ctxs, c)
			delete(r.contexts, id)
		}
	}
	parent := r.parent
	children := r.childLinksLocked()
	closed := r.closed
	r.mu.Unlock()

	for _, c := range ctxs {
		c.gone(&ChannelError{Reason: reason})
	}
	if l.parent {
		r.failPending(func(id ID) bool {
			r.mu.RLock()
			defer r.mu.RUnlock()
			return r.routes[id] == nil && id != r.id
		}, reason)
		if !closed {
			r.log.Debug("mesh: parent link closed; shutting down", "id", r.id)
			go func() { _ = r.Close(context.Background()) }()
		}
		return
	}
	set := map[ID]bool{}
	for _, id := range gone {
		set[id] = true
	}
	r.failPending(func(id ID) bool { return set[id] }, reason)
	for _, id := range gone {
		body, _ := Encode(routeMsg{ID: id})
		if parent != nil {
			_ = parent.send(&Message{Dst: parent.peer, Src: r.id, Auth: r.id, Handle: HandleDelRoute, Body: body})
		}
		r.tellEgress(children, nil, id, body)
	}
}

// tellEgress sends DEL_ROUTE for id down the child links, but from, that
// carried messages from id: only contexts there can hold it, as a caller
// or a sender. Broadcasting to every subtree would cost a message per
// context per link at every shutdown.
func (r *Router) tellEgress(children []*link, from *link, id ID, body []byte) {
	for _, c := range children {
		if c == from {
			continue
		}
		c.mu.Lock()
		_, ok := c.egress[id]
		delete(c.egress, id)
		c.mu.Unlock()
		if ok {
			_ = c.send(&Message{Dst: c.peer, Src: r.id, Auth: r.id, Handle: HandleDelRoute, Body: body})
		}
	}
}

func (r *Router) childLinksLocked() []*link {
	ls := make([]*link, 0, len(r.links))
	for l := range r.links {
		ls = append(ls, l)
	}
	return ls
}

// routeMsg is the body of ADD_ROUTE and DEL_ROUTE.
type routeMsg struct {
	_    struct{} `cbor:",toarray"`
	ID   ID
	Name string
}

// handleAddRoute learns a context below an immediate child.
func (r *Router) handleAddRoute(m *Message) {
	l := m.link
	if l == nil || l.parent || m.Auth != l.peer {
		r.log.Warn("mesh: ADD_ROUTE not from an immediate child ignored", "auth", m.Auth)
		return
	}
	var rm routeMsg
	if err := m.Decode(&rm); err != nil {
		r.log.Warn("mesh: bad ADD_ROUTE", "from", m.Auth, "err", err)
		return
	}
	r.mu.Lock()
	if !l.ownsLocked(rm.ID) {
		r.mu.Unlock()
		r.log.Warn("mesh: ADD_ROUTE for an id not handed down that link ignored", "from", m.Auth, "id", rm.ID)
		return
	}
	if (r.routes[rm.ID] != nil && r.routes[rm.ID] != l) || r.closed {
		r.mu.Unlock()
		r.log.Warn("mesh: ADD_ROUTE for a context routed elsewhere ignored", "from", m.Auth, "id", rm.ID)
		return
	}
	r.routes[rm.ID] = l
	parent := r.parent
	r.mu.Unlock()
	if parent != nil {
		_ = parent.send(&Message{Dst: parent.peer, Src: r.id, Auth: r.id, Handle: HandleAddRoute, Body: m.Body})
	}
}

// handleDelRoute forgets a context that is gone.
func (r *Router) handleDelRoute(m *Message) {
	l := m.link
	if l == nil || m.Auth != l.peer {
		return
	}
	var rm routeMsg
	if err := m.Decode(&rm); err != nil {
		r.log.Warn("mesh: bad DEL_ROUTE", "from", m.Auth, "err", err)
		return
	}
	r.mu.Lock()
	via := r.routes[rm.ID]
	if l.parent {
		if via != nil || rm.ID == r.id {
			r.mu.Unlock()
			return // still reachable below: the parent's news is stale
		}
	} else if via != l {
		r.mu.Unlock()
		return // a child may only withdraw its own routes
	}
	delete(r.routes, rm.ID)
	c := r.contexts[rm.ID]
	delete(r.contexts, rm.ID)
	parent := r.parent
	children := r.childLinksLocked()
	r.mu.Unlock()
	reason := fmt.Sprintf("%s: context %d is gone", ReasonDisconnected, rm.ID)
	if c != nil {
		c.gone(&ChannelError{Reason: reason})
	}
	r.failPending(func(id ID) bool { return id == rm.ID }, reason)
	if !l.parent && parent != nil {
		_ = parent.send(&Message{Dst: parent.peer, Src: r.id, Auth: r.id, Handle: HandleDelRoute, Body: m.Body})
	}
	r.tellEgress(children, l, rm.ID, m.Body)
}

// handleShutdown closes this context when a parent asks.
func (r *Router) handleShutdown(m *Message) {
	if !r.HasParentAuthority(m.Auth) || m.Auth == r.id {
		_ = r.dead(m, fmt.Sprintf("%s: context %d may not shut down context %d", ReasonRefused, m.Auth, r.id))
		return
	}
	go func() { _ = r.Close(context.Background()) }()
}

// idRange is the body of an ALLOCATE_ID reply.
type idRange struct {
	_     struct{} `cbor:",toarray"`
	First ID
	N     uint32
}

// handleAllocateID gives an immediate child a block of ids for its own
// children: the root from its counter, any other context by asking its
// own parent in turn.
//
// Every id handed down a link is recorded on it: ADD_ROUTE arriving on
// that link is believed only for those ids, so that no subtree can claim
// another's contexts. A link gets at most maxBlocksPerLink blocks, so that
// one subtree cannot exhaust the id space.
func (r *Router) handleAllocateID(m *Message) {
	l := m.link
	if l == nil || l.parent || m.Auth != l.peer {
		_ = r.dead(m, fmt.Sprintf("%s: only an immediate child may ask context %d for ids", ReasonRefused, r.id))
		return
	}
	// The block is counted now, before any round trip, so that requests
	// sent together cannot all pass the check; a failed request gives it
	// back.
	r.mu.Lock()
	if l.blocks >= maxBlocksPerLink {
		r.mu.Unlock()
		_ = r.dead(m, fmt.Sprintf("%s: context %d has had its maximum of %d id blocks", ReasonRefused, l.peer, maxBlocksPerLink))
		return
	}
	l.blocks++
	r.mu.Unlock()
	unreserve := func() {
		r.mu.Lock()
		l.blocks--
		r.mu.Unlock()
	}
	m.Body = nil // unused: no reason to hold it while the request waits
	if r.id == 0 {
		r.idMu.Lock()
		first := r.idNext
		if first > r.idLimit-idBlock {
			r.idMu.Unlock()
			unreserve()
			_ = r.dead(m, fmt.Sprintf("%s: context ids exhausted (next %d, %d per block)", ReasonRefused, first, idBlock))
			return
		}
		r.idNext += idBlock
		r.idMu.Unlock()
		r.grant(m, idRange{First: first, N: idBlock})
		return
	}
	err := r.dispatch(m, "allocate ids", func() {
		rg, err := r.requestBlock(r.runCtx)
		if err != nil {
			unreserve()
			_ = m.ReplyError(err)
			return
		}
		r.grant(m, rg)
	})
	if err != nil {
		unreserve()
		_ = r.dead(m, err.Error())
	}
}

// grant records rg on the link m arrived on, then sends it as the reply.
func (r *Router) grant(m *Message, rg idRange) {
	r.mu.Lock()
	m.link.grantLocked(rg.First, rg.N)
	r.mu.Unlock()
	_ = m.Reply(rg)
}

// requestBlock asks the parent for a block of ids.
func (r *Router) requestBlock(ctx context.Context) (idRange, error) {
	var rg idRange
	parent := r.parentIDs[0]
	body, _ := Encode(nil)
	if err := r.request(ctx, parent, &Message{Dst: parent, Handle: HandleAllocateID, Body: body}).Wait(ctx, &rg); err != nil {
		return rg, fmt.Errorf("mesh: asking the parent (context %d) for context ids: %w", parent, err)
	}
	if rg.N == 0 || rg.First == 0 || rg.First+ID(rg.N) < rg.First {
		return rg, fmt.Errorf("mesh: the parent (context %d) allocated no usable context ids (%d from %d)", parent, rg.N, rg.First)
	}
	return rg, nil
}

// allocID returns a fresh context id for a child. A context other than the
// root asks its parent for a block when its own is used up. The request
// runs on its own, under the Router's lifetime rather than any caller's
// ctx (a granted block is not lost when the caller that asked gives up),
// and every caller that needs an id meanwhile waits for it with its own
// ctx; no lock is held across the round trip.
func (r *Router) allocID(ctx context.Context) (ID, error) {
	for {
		r.idMu.Lock()
		if r.idNext < r.idLimit {
			id := r.idNext
			r.idNext++
			r.idMu.Unlock()
			return id, nil
		}
		if r.id == 0 {
			r.idMu.Unlock()
			return 0, fmt.Errorf("mesh: context ids exhausted")
		}
		w := r.idWait
		if w == nil {
			w = &idRequest{done: make(chan struct{})}
			r.idWait = w
			go r.refillIDs(w)
		}
		r.idMu.Unlock()
		select {
		case <-w.done:
			if w.err != nil {
				return 0, w.err
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// idRequest is a block request to the parent in flight.
type idRequest struct {
	done chan struct{}
	err  error // set before done is closed
}

func (r *Router) refillIDs(w *idRequest) {
	// Bounded, so that a request the parent never answers does not hold
	// every later caller: the next one asks afresh.
	ctx, cancel := context.WithTimeout(r.runCtx, DefaultConnectTimeout)
	rg, err := r.requestBlock(ctx)
	cancel()
	r.idMu.Lock()
	r.idWait = nil
	if err == nil {
		r.idNext, r.idLimit = rg.First, rg.First+ID(rg.N)
	}
	w.err = err
	r.idMu.Unlock()
	close(w.done)
}

// callError converts err into the CallError sent to a caller.
func (r *Router) callError(err error) *CallError {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce
	}
	out := &CallError{Type: fmt.Sprintf("%T", err), Msg: err.Error()}
	if r.cfg.Debug {
		out.Stack = string(debug.Stack())
	}
	return out
}

// msgTask is work done on the Scheduler for a message: a call, a start, an
// id request. Dropped unrun (the Router or the Scheduler closing), it
// answers the message with a dead reply instead.
type msgTask struct {
	r    *Router
	m    *Message
	what string
	run  func()
}

func (t *msgTask) Run(context.Context) {
	t.r.queuedBytes.Add(-int64(len(t.m.Body)))
	t.run()
}

func (t *msgTask) Drop(error) {
	t.r.queuedBytes.Add(-int64(len(t.m.Body)))
	_ = t.r.dead(t.m, fmt.Sprintf("%s: context %d closed before it could %s", ReasonShutdown, t.r.id, t.what))
}

// maxQueuedBytes bounds the bodies of the messages waiting to run
// (queued in the Scheduler or in the backlog): four maximum-size messages,
// at least 256 MiB.
func (r *Router) maxQueuedBytes() int64 {
	return max(4*int64(r.cfg.MaxMessageSize), 256<<20)
}

// dispatch runs fn for m on the Scheduler without ever blocking the
// caller (a link reader): when the Scheduler's queue is full the work
// waits in the Router's backlog. The error, when the backlog is full too
// or the Router is closing, is a reason fit for a dead reply.
func (r *Router) dispatch(m *Message, what string, fn func()) error {
	n := int64(len(m.Body))
	if q := r.queuedBytes.Add(n); n > 0 && q > r.maxQueuedBytes() {
		r.queuedBytes.Add(-n)
		return fmt.Errorf("%s: context %d is too busy to %s (%d bytes of messages waiting)", ReasonBusy, r.id, what, q-n)
	}
	err := r.backlog.Submit(sched.Normal, &msgTask{r: r, m: m, what: what, run: fn})
	if err != nil {
		r.queuedBytes.Add(-n)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sched.ErrBacklogFull):
		return fmt.Errorf("%s: context %d is too busy to %s (%d waiting)", ReasonBusy, r.id, what, r.backlog.Len())
	default:
		return fmt.Errorf("%s: context %d cannot %s: %v", ReasonShutdown, r.id, what, err)
	}
}

// Close shuts the Router down: it asks every child to shut down (children
// pass it on to theirs), waits up to Config.ShutdownGrace (or until ctx
// ends) for them to exit, kills what is left, closes the parent link and
// fails every waiter. Close is idempotent; later calls wait for the first.
func (r *Router) Close(ctx context.Context) error {
	r.closeOnce.Do(func() { r.closeErr = r.close(ctx) })
	<-r.done
	return r.closeErr
}

func (r *Router) close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	children := r.childLinksLocked()
	parent := r.parent
	r.mu.Unlock()
	// Calls still waiting for room in the Scheduler are dropped: they get
	// dead replies now, while the links that carry them are still up.
	r.submitCancel()
	r.backlog.Wait()

	for _, l := range children {
		_ = l.send(&Message{Dst: l.peer, Src: r.id, Auth: r.id, Handle: HandleShutdown})
		l.close()
	}
	timer := time.NewTimer(r.cfg.ShutdownGrace)
	defer timer.Stop()
	killed := false
	for _, l := range children {
		select {
		case <-l.done:
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		if !killed {
			killed = true
			for _, k := range children {
				if k.kill != nil {
					k.kill()
				}
			}
		}
		<-l.done
	}
	if parent != nil {
		// Flush what is queued for the parent, for at most the grace
		// period: a parent that no longer reads must not keep us alive.
		parent.close()
		grace := time.NewTimer(r.cfg.ShutdownGrace)
		select {
		case <-parent.writerDone:
		case <-grace.C:
		case <-ctx.Done():
		}
		grace.Stop()
		if parent.kill != nil {
			parent.kill()
		}
		<-parent.done
	}
	r.runCancel()
	r.pmu.Lock()
	ps := r.pending
	r.pending = map[Handle]*Pending{}
	close(r.done)
	r.pmu.Unlock()
	for _, p := range ps {
		p.resolve(nil, &ChannelError{Reason: ReasonShutdown + ": router closed"})
	}
	r.mu.Lock()
	ctxs := r.contexts
	r.contexts = map[ID]*Context{}
	r.mu.Unlock()
	for _, c := range ctxs {
		c.gone(&ChannelError{Reason: ReasonShutdown + ": router closed"})
	}
	return nil
}
