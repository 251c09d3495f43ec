package service

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/muster-sh/muster/mesh"
)

// Service is a named set of exposed methods served by a [Pool]. Build one
// with [New], expose its methods with [Expose], then either add it to a Pool
// ([Pool.Add]) or return it from a constructor given to [Register], so that
// it can be activated by name.
//
// A Service is configured before it is added to a Pool; its setters are not
// safe to call afterwards.
type Service struct {
	name     string
	methods  map[string]*Method
	invoker  Invoker
	prio     int
	hasPrio  bool
	shutdown []func(ctx context.Context)
	impl     any
	custom   bool      // a method has a policy other than the built-in ones
	lane     checkLane // where its calls are checked, if custom
}

// New returns an empty service with the canonical name name (by convention
// "importpath.Type", e.g. "muster.FileService") and the [Concurrent] invoker.
func New(name string) *Service {
	if name == "" {
		panic("service: empty service name")
	}
	return &Service{name: name, methods: map[string]*Method{}, invoker: Concurrent()}
}

// Name returns the service's canonical name.
func (s *Service) Name() string { return s.name }

// SetInvoker chooses how calls to the service run: [Concurrent] (the
// default), [Serialized] or [Deduplicating]. It returns s.
func (s *Service) SetInvoker(inv Invoker) *Service {
	if inv == nil {
		panic("service: nil invoker")
	}
	s.invoker = inv
	return s
}

// SetPriority sets the sched priority at which the service's calls run,
// unless a method sets its own ([Method.SetPriority]). The default is the
// Pool's Priority. It returns s.
func (s *Service) SetPriority(prio int) *Service {
	s.prio, s.hasPrio = prio, true
	return s
}

// OnShutdown adds fn to the functions called when the Pool serving s is
// closed, after its last call has returned, in the order they were added.
func (s *Service) OnShutdown(fn func(ctx context.Context)) *Service {
	s.shutdown = append(s.shutdown, fn)
	return s
}

// SetImpl records the value that implements the service, for [Pool.Impl]
// to return (for example a *FileService). It returns s.
func (s *Service) SetImpl(v any) *Service {
	s.impl = v
	return s
}

// Methods returns the names of the service's methods, sorted.
func (s *Service) Methods() []string {
	names := make([]string, 0, len(s.methods))
	for n := range s.methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// MethodFunc is the shape of an exposed method: it receives the call's
// context (cancelled when the Pool is shut down by force), a description of
// the call, and the decoded request, and returns the response or an error
// that is sent back to the caller.
type MethodFunc[Req, Resp any] func(ctx context.Context, c *CallInfo, req Req) (Resp, error)

// Method is an exposed method of a Service.
type Method struct {
	name     string
	policies []Policy
	spec     *argSpec
	prio     int
	hasPrio  bool
	newReq   func() any                                                   // a pointer to a fresh Req
	run      func(ctx context.Context, c *CallInfo, req any) (any, error) // req is the pointer from newReq
}

// Name returns the method's name.
func (m *Method) Name() string { return m.name }

// SetPriority sets the sched priority at which calls to this method run,
// overriding the service's. It returns m.
func (m *Method) SetPriority(prio int) *Method {
	m.prio, m.hasPrio = prio, true
	return m
}

// Expose adds the method name to s, implemented by fn, callable by a caller
// that every one of policies authorizes. Req must be a struct type: the call's
// arguments are decoded into it strictly (see the package documentation), and
// a call whose arguments do not match runs nothing. A method exposed with no
// policy exists but is refused to every caller with [ErrNotExposed].
//
// Expose panics if Req is not a struct or the name is taken; it is meant to
// be called while building a service.
func Expose[Req, Resp any](s *Service, name string, fn MethodFunc[Req, Resp], policies ...Policy) *Method {
	if name == "" || fn == nil {
		panic("service: Expose needs a name and a function")
	}
	if _, dup := s.methods[name]; dup {
		panic(fmt.Sprintf("service: %s already has a method %q", s.name, name))
	}
	for _, p := range policies {
		if p == nil {
			panic(fmt.Sprintf("service: %s.%s: nil policy", s.name, name))
		}
		if !builtin(p) {
			s.custom = true
		}
	}
	m := &Method{
		name:     name,
		policies: append([]Policy(nil), policies...),
		spec:     specOf(reflect.TypeFor[Req]()),
		newReq:   func() any { return new(Req) },
		run: func(ctx context.Context, c *CallInfo, req any) (any, error) {
			return fn(ctx, c, *req.(*Req))
		},
	}
	s.methods[name] = m
	return m
}

// CallInfo describes the call being served, for policies and methods.
type CallInfo struct {
	Service string
	Method  string
	// Src is the context the call came from; Auth is its authenticated
	// source: each router on the way accepts a message only if its Auth is
	// reachable through the link it arrived on (that link's context or one
	// of its descendants), so a child cannot speak as its parent. Policies
	// decide on Auth.
	Src, Auth mesh.ID
	// Msg is the message that carried the call; nil for calls made by
	// [Pool.Invoke] within the process.
	Msg *mesh.Message

	pool  *Pool
	after []func() // run once the answer is sent (afterReply)
}

// afterReply has fn run once the call's answer has been handed to the
// mesh, on the goroutine that ran the method: a method that streams to the
// caller after answering (FileService's fetch) starts its stream there, so
// the answer goes first on the link.
func (c *CallInfo) afterReply(fn func()) { c.after = append(c.after, fn) }

// Pool returns the Pool serving the call.
func (c *CallInfo) Pool() *Pool { return c.pool }

// HasParentAuthority reports whether the caller is the serving context itself
// or one of its parents.
func (c *CallInfo) HasParentAuthority() bool { return c.pool.hasParentAuthority(c.Auth) }

// Policy decides whether a caller may invoke a method. Every policy given to
// [Expose] must authorize a call for it to run.
//
// The built-in policies ([AllowAny], [AllowParents]) are checked on the
// goroutine that received the call. The calls of a service that has any
// other policy, on any method, are checked on a sched job instead, one at a
// time in arrival order (so that its invoker still sees them in that order):
// such a policy may take time without holding up the link the call came on,
// but it occupies a worker and delays the service's later calls meanwhile.
type Policy interface {
	Authorized(c *CallInfo) bool
}

// PolicyFunc adapts a function to a [Policy].
type PolicyFunc func(c *CallInfo) bool

// Authorized returns f(c).
func (f PolicyFunc) Authorized(c *CallInfo) bool { return f(c) }

// builtin reports whether p is one of the package's own policies, which
// decide at once.
func builtin(p Policy) bool {
	switch p.(type) {
	case allowAny, allowParents:
		return true
	}
	return false
}

type allowAny struct{}

func (allowAny) Authorized(*CallInfo) bool { return true }

type allowParents struct{}

func (allowParents) Authorized(c *CallInfo) bool { return c.HasParentAuthority() }

// The built-in policies.
var (
	// AllowAny authorizes every caller.
	AllowAny Policy = allowAny{}
	// AllowParents authorizes the serving context itself and its parents
	// (the chain up to the root), judged by the call's authenticated source.
	AllowParents Policy = allowParents{}
)

// Constructor builds a service for the Pool p that activates it.
type Constructor func(p *Pool) (*Service, error)

var registry struct {
	sync.RWMutex
	m map[string]Constructor
}

// Register makes the service name activatable: a Pool that receives a call
// for name while it is not active builds it with ctor, if the caller has
// parent authority. Register is meant to be called from init functions, so
// that parent and child (the same binary) know the same services; it panics
// if name is empty or already registered.
func Register(name string, ctor Constructor) {
	if name == "" || ctor == nil {
		panic("service: Register needs a name and a constructor")
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.m == nil {
		registry.m = map[string]Constructor{}
	}
	if _, dup := registry.m[name]; dup {
		panic(fmt.Sprintf("service: %q is already registered", name))
	}
	registry.m[name] = ctor
}

func lookupConstructor(name string) (Constructor, bool) {
	registry.RLock()
	defer registry.RUnlock()
	c, ok := registry.m[name]
	return c, ok
}
