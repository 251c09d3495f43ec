package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/fxamacker/cbor/v2"
	"github.com/muster-sh/muster/mesh"
	"github.com/muster-sh/muster/sched"
)

// Config sets up a [Pool]. The zero value is valid.
type Config struct {
	// Scheduler runs the calls. Default: the Router's scheduler, else
	// sched.Default().
	Scheduler *sched.Scheduler
	// Priority is the sched priority of calls whose service and method set
	// none. Default sched.Normal.
	Priority int
	// Debug sends the stack of a failed method (where its error was seen or
	// its panic recovered) to the caller along with the message.
	Debug bool
	// NoActivation disables activation: only services added with
	// [Pool.Add] are served.
	NoActivation bool
	// Logger receives warnings about calls that failed and wanted no reply.
	// Default slog.Default().
	Logger *slog.Logger
}

// Pool serves the services of one context: it receives service calls,
// checks them, activates registered services on a parent's first call, and
// runs the calls on a sched.Scheduler through each service's invoker.
//
// A Pool's methods are safe for concurrent use.
type Pool struct {
	cfg       Config
	router    *mesh.Router // nil in a Pool made for in-process use only
	self      mesh.ID
	authority func(mesh.ID) bool
	log       *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	// backlog holds jobs while the scheduler's queue is full, so that a
	// call arriving on a link never blocks its reader.
	backlog *sched.Backlog
	remove  func()

	mu         sync.RWMutex
	active     map[string]*Service
	order      []*Service
	activating map[string]*activation
	closed     bool
	jobs       sync.WaitGroup
	closeOnce  sync.Once
	done       chan struct{}
}

// maxBacklog bounds the jobs a Pool keeps waiting for room in its
// scheduler's queue; past it calls are answered [CodeBusy].
const maxBacklog = 16384

// activation is a service being built. Calls for it queue in pending;
// local Activate calls wait on done; svc and err are its outcome.
type activation struct {
	pending []inbound
	waiters int // Activate calls that joined it
	done    chan struct{}
	svc     *Service
	err     error
}

// NewPool returns a Pool serving the services in r's context: it listens on
// mesh.HandleCallService until it is closed. At most one Pool per Router can
// listen; NewPool fails if the handle is taken.
func NewPool(r *mesh.Router, cfg Config) (*Pool, error) {
	if cfg.Scheduler == nil {
		cfg.Scheduler = r.Config().Scheduler
	}
	p := newPool(cfg, r.ID(), r.HasParentAuthority)
	p.router = r
	remove, err := r.AddHandler(mesh.HandleCallService, p.handle)
	if err != nil {
		p.cancel()
		return nil, fmt.Errorf("service: listening on the service handle of context %d: %w", r.ID(), err)
	}
	p.remove = remove
	pools.Store(r, p)
	return p, nil
}

func newPool(cfg Config, self mesh.ID, authority func(mesh.ID) bool) *Pool {
	if cfg.Scheduler == nil {
		cfg.Scheduler = sched.Default()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pool{
		cfg:        cfg,
		self:       self,
		authority:  authority,
		log:        cfg.Logger,
		active:     map[string]*Service{},
		activating: map[string]*activation{},
		done:       make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.backlog = sched.NewBacklog(p.ctx, cfg.Scheduler, maxBacklog)
	return p
}

// Router returns the Router the Pool listens on.
func (p *Pool) Router() *mesh.Router { return p.router }

// Scheduler returns the scheduler the Pool runs calls on.
func (p *Pool) Scheduler() *sched.Scheduler { return p.cfg.Scheduler }

// Context returns a context that is cancelled when the Pool is closed.
// Services may use it for work that outlives a call.
func (p *Pool) Context() context.Context { return p.ctx }

func (p *Pool) hasParentAuthority(id mesh.ID) bool {
	return id == p.self || (p.authority != nil && p.authority(id))
}

// Add makes s active in the Pool, without any permission check. It fails if
// a service of the same name is already active or being activated, or the
// Pool is closed.
func (p *Pool) Add(s *Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return &Error{Code: CodeClosed, Service: s.name}
	}
	if _, dup := p.active[s.name]; dup {
		return fmt.Errorf("service: %q is already active in context %d", s.name, p.self)
	}
	if p.activating[s.name] != nil {
		return fmt.Errorf("service: %q is being activated in context %d", s.name, p.self)
	}
	p.active[s.name] = s
	p.order = append(p.order, s)
	return nil
}

// Activate makes the registered service name active, constructing it if it
// is not, without any permission check, and returns it. If the service is
// being activated (by a parent's call, or another Activate), Activate waits
// for that activation and returns its outcome: a service is built once.
func (p *Pool) Activate(name string) (*Service, error) {
	p.mu.Lock()
	if s := p.active[name]; s != nil {
		p.mu.Unlock()
		return s, nil
	}
	if p.closed {
		p.mu.Unlock()
		return nil, &Error{Code: CodeClosed, Service: name}
	}
	if a := p.activating[name]; a != nil {
		a.waiters++
		p.mu.Unlock()
		<-a.done
		return a.svc, a.err
	}
	a := &activation{done: make(chan struct{})}
	p.activating[name] = a
	p.jobs.Add(1) // Close runs the hooks of what this builds
	p.mu.Unlock()
	defer p.jobs.Done()
	p.build(name, a)
	return a.svc, a.err
}

// Impl returns the implementation recorded with [Service.SetImpl] of the
// active service name, or nil.
func (p *Pool) Impl(name string) any {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if s := p.active[name]; s != nil {
		return s.impl
	}
	return nil
}

// build constructs service name and ends its activation a with the
// outcome, however the constructor ends: the activation must end, or the
// calls queued behind it would never be answered.
func (p *Pool) build(name string, a *activation) {
	ifGoexit(func() {
		s, err := p.construct(name)
		p.finishActivation(name, a, s, err)
	}, func() {
		p.finishActivation(name, a, nil, fmt.Errorf("service: activating %q: the constructor called runtime.Goexit", name))
	})
}

// ifGoexit runs fn, then, if fn ended the goroutine instead of returning
// (runtime.Goexit, which no recover stops), runs then before the goroutine
// ends: user code that calls Goexit (t.FailNow in a helper, say) must not
// leave a call unanswered or a queue without its drainer.
func ifGoexit(fn, then func()) {
	returned := false
	defer func() {
		if !returned {
			then()
		}
	}()
	fn()
	returned = true
}

// construct builds the registered service name. A constructor that panics
// fails like one that returns an error.
func (p *Pool) construct(name string) (s *Service, err error) {
	ctor, ok := lookupConstructor(name)
	if !ok {
		return nil, &Error{Code: CodeNoSuchService, Service: name}
	}
	defer func() {
		if v := recover(); v != nil {
			s, err = nil, fmt.Errorf("service: activating %q: the constructor panicked: %v", name, v)
		}
	}()
	s, err = ctor(p)
	if err != nil {
		return nil, fmt.Errorf("service: activating %q: %w", name, err)
	}
	if s == nil {
		return nil, fmt.Errorf("service: the constructor registered as %q returned no service", name)
	}
	if s.name != name {
		return nil, fmt.Errorf("service: the constructor registered as %q returned a service named %q", name, s.name)
	}
	return s, nil
}

// Close stops the Pool taking calls (later calls are answered with
// [ErrClosed]), waits for the calls in progress and queued to finish, then
// runs the services' shutdown hooks. If ctx ends first, Close cancels the
// context passed to the running calls and returns ctx's error at once; the
// hooks run when the last call has returned ([Pool.Join] waits for that).
// Close may be called more than once.
func (p *Pool) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		if p.remove != nil {
			p.remove()
			pools.CompareAndDelete(p.router, p)
		}
		go func() { // ends when the Pool's last job returns
			p.jobs.Wait()
			p.mu.RLock()
			order := append([]*Service(nil), p.order...)
			p.mu.RUnlock()
			for _, s := range order {
				for _, fn := range s.shutdown {
					fn(context.WithoutCancel(p.ctx))
				}
			}
			p.cancel()
			p.backlog.Wait()
			close(p.done)
		}()
	})
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		p.cancel()
		return ctx.Err()
	}
}

// Join waits until the Pool has been closed and its shutdown hooks have run,
// or ctx ends.
func (p *Pool) Join(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done returns a channel closed once the Pool is closed and its shutdown
// hooks have run.
func (p *Pool) Done() <-chan struct{} { return p.done }

// poolJob is one sched job of the Pool; Drop answers its calls when a
// forced shutdown of the scheduler drops it.
type poolJob struct {
	p    *Pool
	run  func(ctx context.Context)
	drop func()
}

func (j *poolJob) Run(ctx context.Context) {
	defer j.p.jobs.Done()
	// The call's context ends with the scheduler's or with the Pool's.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(j.p.ctx, cancel)
	defer stop()
	j.run(ctx)
}

func (j *poolJob) Drop(error) {
	defer j.p.jobs.Done()
	if j.drop != nil {
		j.drop()
	}
}

// submit runs fn as a sched job at prio; drop is called instead if the job
// is dropped. It never blocks (it runs on link readers, which must keep
// reading replies): when the scheduler's queue is full the job waits in the
// Pool's backlog, and submit fails with sched.ErrBacklogFull past that. It
// fails if the Pool or the scheduler is closed.
func (p *Pool) submit(prio int, fn func(ctx context.Context), drop func()) error {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return ErrClosed
	}
	p.jobs.Add(1)
	p.mu.RUnlock()
	err := p.backlog.Submit(prio, &poolJob{p: p, run: fn, drop: drop})
	if err != nil {
		p.jobs.Done()
	}
	return err
}

// invocation is one checked call on its way to its method.
type invocation struct {
	call  CallInfo
	m     *Method
	req   any // pointer to the decoded request
	prio  int
	reply replier
}

// replier answers a call: with the encoded response, or an error.
type replier func(body []byte, e *Error)

// inbound is a call as it arrives, before any check.
type inbound struct {
	service, method string
	args            []byte
	src, auth       mesh.ID
	msg             *mesh.Message
	reply           replier
}

func (p *Pool) closedError(inv *invocation) *Error {
	return &Error{Code: CodeClosed, Service: inv.call.Service, Method: inv.call.Method, Caller: inv.call.Auth}
}

// submitError is the answer to a call whose job submit refused with err:
// busy when the backlog is full, else closed.
func (p *Pool) submitError(inv *invocation, err error) *Error {
	return &Error{Code: submitCode(err), Service: inv.call.Service, Method: inv.call.Method, Caller: inv.call.Auth}
}

func submitCode(err error) Code {
	if errors.Is(err, sched.ErrBacklogFull) {
		return CodeBusy
	}
	return CodeClosed
}

// dispatch checks a call and hands it to its service's invoker. It runs on
// the goroutine that received the call and does not block: activating a
// service, and checking custom policies, happen on sched jobs.
func (p *Pool) dispatch(in inbound) {
	p.mu.RLock()
	closed := p.closed
	s := p.active[in.service]
	p.mu.RUnlock()
	if closed {
		in.reply(nil, &Error{Code: CodeClosed, Service: in.service, Method: in.method, Caller: in.auth})
		return
	}
	if s == nil {
		p.activate(in)
		return
	}
	p.invokeOn(s, in)
}

// invokeOn checks the call in against service s and hands it to s's
// invoker: at once, or, if s has a custom policy, on s's check lane.
func (p *Pool) invokeOn(s *Service, in inbound) {
	if s.custom {
		s.lane.push(p, s, in)
		return
	}
	p.check(s, in)
}

// checkLane runs the checks of one service's calls on a sched job, one at a
// time in arrival order, for services whose policies may take time.
type checkLane struct {
	mu      sync.Mutex
	q       []inbound
	running bool
}

func (l *checkLane) push(p *Pool, s *Service, in inbound) {
	l.mu.Lock()
	l.q = append(l.q, in)
	if l.running {
		l.mu.Unlock()
		return
	}
	l.running = true
	l.mu.Unlock()
	l.start(p, s)
}

// start submits a job that checks the queued calls.
func (l *checkLane) start(p *Pool, s *Service) {
	prio := p.cfg.Priority
	if s.hasPrio {
		prio = s.prio
	}
	if err := p.submit(prio, func(context.Context) { l.drain(p, s) }, func() { l.fail(CodeClosed) }); err != nil {
		l.fail(submitCode(err))
	}
}

// drain checks the queued calls in order. A policy that panics refuses its
// call (see check); one that calls runtime.Goexit ends this goroutine, so
// its call is refused here and another job checks the rest.
func (l *checkLane) drain(p *Pool, s *Service) {
	var in inbound
	ifGoexit(func() {
		for {
			var ok bool
			if in, ok = l.pop(); !ok {
				return
			}
			p.check(s, in)
		}
	}, func() {
		in.reply(nil, &Error{Code: CodeRefused, Service: in.service, Method: in.method, Caller: in.auth,
			Msg: "the policy called runtime.Goexit"})
		l.start(p, s)
	})
}

func (l *checkLane) pop() (inbound, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.q) == 0 {
		l.running = false
		l.q = nil
		return inbound{}, false
	}
	in := l.q[0]
	l.q[0] = inbound{}
	l.q = l.q[1:]
	return in, true
}

// fail answers the queued calls when the lane's job could not run.
func (l *checkLane) fail(code Code) {
	for in, ok := l.pop(); ok; in, ok = l.pop() {
		in.reply(nil, &Error{Code: code, Service: in.service, Method: in.method, Caller: in.auth})
	}
}

// check runs the checks of call in on service s — method, policies,
// arguments — and hands it to s's invoker.
func (p *Pool) check(s *Service, in inbound) {
	e := &Error{Service: in.service, Method: in.method, Caller: in.auth}
	m := s.methods[in.method]
	if m == nil {
		e.Code = CodeNoSuchMethod
		in.reply(nil, e)
		return
	}
	if len(m.policies) == 0 {
		e.Code = CodeNotExposed
		in.reply(nil, e)
		return
	}
	inv := &invocation{
		call:  CallInfo{Service: in.service, Method: in.method, Src: in.src, Auth: in.auth, Msg: in.msg, pool: p},
		m:     m,
		reply: in.reply,
		prio:  p.cfg.Priority,
	}
	for _, pol := range m.policies {
		if ok, msg := authorized(pol, &inv.call); !ok {
			e.Code, e.Msg = CodeRefused, msg
			in.reply(nil, e)
			return
		}
	}
	inv.req = m.newReq()
	if ae := m.spec.decode(in.args, inv.req); ae != nil {
		e.Code, e.Arg = CodeBadArgs, ae
		in.reply(nil, e)
		return
	}
	switch {
	case m.hasPrio:
		inv.prio = m.prio
	case s.hasPrio:
		inv.prio = s.prio
	}
	s.invoker.invoke(p, inv)
}

// activate builds the registered service in.service for a caller with parent
// authority, then dispatches the call (and any that arrived meanwhile).
//
// A call from any caller that arrives while the service is being activated
// queues behind the activation, since the service is then as good as active
// and its methods' own policies decide: the parent's calls that started the
// activation may be answered before the service is marked active. Only a
// service neither active nor being activated needs a parent to start it.
func (p *Pool) activate(in inbound) {
	parent := !p.cfg.NoActivation && p.hasParentAuthority(in.auth)
	_, registered := lookupConstructor(in.service)
	p.mu.Lock()
	if s := p.active[in.service]; s != nil {
		p.mu.Unlock()
		p.invokeOn(s, in)
		return
	}
	if a := p.activating[in.service]; a != nil {
		a.pending = append(a.pending, in)
		p.mu.Unlock()
		return
	}
	if !parent || !registered {
		p.mu.Unlock()
		code := CodeNotActivated
		if parent {
			code = CodeNoSuchService
		}
		in.reply(nil, &Error{Code: code, Service: in.service, Method: in.method, Caller: in.auth})
		return
	}
	a := &activation{pending: []inbound{in}, done: make(chan struct{})}
	p.activating[in.service] = a
	p.mu.Unlock()
	name := in.service
	err := p.submit(p.cfg.Priority, func(context.Context) {
		p.build(name, a)
	}, func() { p.finishActivation(name, a, nil, ErrClosed) })
	if err != nil {
		if errors.Is(err, sched.ErrBacklogFull) {
			err = &Error{Code: CodeBusy, Service: name}
		} else {
			err = ErrClosed
		}
		p.finishActivation(name, a, nil, err)
	}
}

// finishActivation ends activation a of service name, whose construction
// returned s and err: it dispatches the calls that arrived during the
// activation, in order (calls arriving meanwhile still queue behind them),
// and makes s active only once the queue is empty. If the Pool was closed
// meanwhile, s is not made active but its shutdown hooks still run with the
// other services', and the queued calls get CodeClosed. It runs on a Pool
// job (or within Activate, which holds one), so that Close waits for it.
func (p *Pool) finishActivation(name string, a *activation, s *Service, err error) {
	var discard *Service
	for {
		p.mu.Lock()
		closed := p.closed
		pending := a.pending
		a.pending = nil
		if len(pending) == 0 {
			delete(p.activating, name)
			switch {
			case err != nil:
				a.err = err
				if errors.Is(err, ErrClosed) {
					a.err = &Error{Code: CodeClosed, Service: name}
				}
			case closed:
				p.order = append(p.order, s) // for its shutdown hooks
				a.err = &Error{Code: CodeClosed, Service: name}
			case p.active[name] != nil:
				// Cannot happen (Add refuses, Activate joins), but never
				// replace an active service: drop the new one.
				a.svc, discard = p.active[name], s
			default:
				p.active[name] = s
				p.order = append(p.order, s)
				a.svc = s
			}
			close(a.done)
			p.mu.Unlock()
			break
		}
		p.mu.Unlock()
		for _, in := range pending {
			switch {
			case errors.Is(err, ErrBusy):
				in.reply(nil, &Error{Code: CodeBusy, Service: in.service, Method: in.method, Caller: in.auth})
			case err != nil && !errors.Is(err, ErrClosed) && !p.hasParentAuthority(in.auth):
				// A caller that could not have activated the service
				// learns nothing of why it failed.
				in.reply(nil, &Error{Code: CodeNotActivated, Service: in.service, Method: in.method, Caller: in.auth})
			case err != nil && !errors.Is(err, ErrClosed):
				in.reply(nil, &Error{Code: CodeFailed, Service: in.service, Method: in.method, Caller: in.auth, Msg: err.Error(), Err: err})
			case err != nil || closed:
				in.reply(nil, &Error{Code: CodeClosed, Service: in.service, Method: in.method, Caller: in.auth})
			default:
				p.invokeOn(s, in)
			}
		}
	}
	if discard != nil {
		for _, fn := range discard.shutdown {
			fn(context.WithoutCancel(p.ctx))
		}
	}
}

// authorized asks pol about call. A policy that panics refuses the call,
// with the panic as the reason: nothing runs, and the caller is answered.
func authorized(pol Policy, call *CallInfo) (ok bool, msg string) {
	defer func() {
		if v := recover(); v != nil {
			ok, msg = false, fmt.Sprintf("the policy panicked: %v", v)
		}
	}()
	return pol.Authorized(call), ""
}

// errGoexit is the failure of a method that called runtime.Goexit.
var errGoexit = errors.New("the method called runtime.Goexit")

// runToEnd runs the invocation and hands its outcome to reply, also when
// the method ends the goroutine with runtime.Goexit, which run cannot
// recover. Then, if the method returned, it runs what the method left for
// after its answer.
func (p *Pool) runToEnd(ctx context.Context, inv *invocation, reply replier) {
	var body []byte
	var e *Error
	ifGoexit(func() { body, e = p.run(ctx, inv) }, func() { reply(nil, p.failed(inv, errGoexit, nil)) })
	reply(body, e)
	for _, fn := range inv.call.after {
		fn()
	}
}

// run calls the invocation's method and encodes its response.
func (p *Pool) run(ctx context.Context, inv *invocation) (body []byte, e *Error) {
	defer func() {
		if v := recover(); v != nil {
			err, ok := v.(error)
			if !ok {
				err = fmt.Errorf("%v", v)
			}
			e = p.failed(inv, fmt.Errorf("panic: %w", err), debug.Stack())
			e.Remote.Type = "panic"
		}
	}()
	resp, err := inv.m.run(ctx, &inv.call, inv.req)
	if se, ok := err.(*Error); ok && se.refusal {
		e := *se
		e.Service, e.Method, e.Caller = inv.call.Service, inv.call.Method, inv.call.Auth
		return nil, &e
	}
	if err != nil {
		var st []byte
		if p.cfg.Debug {
			st = debug.Stack()
		}
		return nil, p.failed(inv, err, st)
	}
	body, err = wireEnc.Marshal(resp)
	if err != nil {
		return nil, p.failed(inv, fmt.Errorf("encoding the response: %w", err), nil)
	}
	return body, nil
}

// failed describes a method's error. Remote carries the error's type, and
// the stack if Debug is set.
func (p *Pool) failed(inv *invocation, err error, stack []byte) *Error {
	e := &Error{Code: CodeFailed, Service: inv.call.Service, Method: inv.call.Method, Caller: inv.call.Auth, Msg: err.Error(), Err: err}
	e.Remote = &mesh.CallError{Type: fmt.Sprintf("%T", err), Msg: err.Error()}
	if p.cfg.Debug {
		e.Remote.Stack = string(stack)
	}
	return e
}

// request is the body of a message to mesh.HandleCallService.
type request struct {
	Service string          `cbor:"s"`
	Method  string          `cbor:"m"`
	Args    cbor.RawMessage `cbor:"a,omitempty"`
}

// response is the body of the reply to a service call.
type response struct {
	Result cbor.RawMessage `cbor:"r,omitempty"`
	Err    *wireError      `cbor:"e,omitempty"`
}

func toWire(e *Error) *wireError {
	w := &wireError{Code: e.Code, Service: e.Service, Method: e.Method, Caller: e.Caller, Msg: e.Msg, Arg: e.Arg, Type: "service.Error"}
	if e.Remote != nil {
		w.Type, w.Stack = e.Remote.Type, e.Remote.Stack
	}
	return w
}

// handle receives a service call from the mesh.
func (p *Pool) handle(m *mesh.Message) {
	reply := func(body []byte, e *Error) {
		if m.ReplyTo == 0 {
			if e != nil {
				p.log.Warn("service call without reply failed", "service", e.Service, "method", e.Method, "caller", e.Caller, "err", e)
			}
			return
		}
		r := response{Result: body}
		if e != nil {
			r.Err = toWire(e)
		}
		if err := m.Reply(r); err != nil && !errors.Is(err, mesh.ErrClosed) {
			p.log.Warn("service reply not sent", "dst", m.Src, "err", err)
		}
	}
	var req request
	if err := m.Decode(&req); err != nil {
		reply(nil, &Error{Code: CodeBadRequest, Caller: m.Auth, Msg: err.Error()})
		return
	}
	p.dispatch(inbound{service: req.Service, method: req.Method, args: req.Args, src: m.Src, auth: m.Auth, msg: m, reply: reply})
}

// Invoke calls method of service in this Pool, in-process, as the context
// itself (so with parent authority), through the same checks and invoker as
// a call from another context; req is encoded and decoded as on the wire.
// resp receives the result (nil: discard it).
func (p *Pool) Invoke(ctx context.Context, service, method string, req, resp any) error {
	return p.invokeAs(ctx, p.self, service, method, req, resp)
}

func (p *Pool) invokeAs(ctx context.Context, auth mesh.ID, service, method string, req, resp any) error {
	var args []byte
	if req != nil {
		var err error
		if args, err = wireEnc.Marshal(req); err != nil {
			return fmt.Errorf("service: encoding the arguments of %s.%s: %w", service, method, err)
		}
	}
	type result struct {
		body []byte
		e    *Error
	}
	ch := make(chan result, 1)
	p.dispatch(inbound{service: service, method: method, args: args, src: auth, auth: auth,
		reply: func(body []byte, e *Error) { ch <- result{body, e} }})
	select {
	case r := <-ch:
		if r.e != nil {
			return r.e
		}
		if resp == nil {
			return nil
		}
		if err := looseDec.Unmarshal(r.body, resp); err != nil {
			return fmt.Errorf("service: decoding the result of %s.%s: %w", service, method, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
