package service

import (
	"context"
	"encoding/binary"
	"sync"
	"time"
)

// Invoker decides how the calls to one service run on the Pool's scheduler.
// The three invokers are [Concurrent], [Serialized] and [Deduplicating]. An
// Invoker holds per-service state: give each service its own.
//
// Every invoker runs a call only after all its checks (method, policies,
// arguments) have passed.
type Invoker interface {
	invoke(p *Pool, inv *invocation)
}

// Concurrent returns the default invoker: each call runs as its own sched
// job, so calls to the service run in parallel on as many workers as the
// scheduler grants.
func Concurrent() Invoker { return concurrent{} }

type concurrent struct{}

func (concurrent) invoke(p *Pool, inv *invocation) {
	err := p.submit(inv.prio, func(ctx context.Context) {
		p.runToEnd(ctx, inv, inv.reply)
	}, func() { inv.reply(nil, p.closedError(inv)) })
	if err != nil {
		inv.reply(nil, p.submitError(inv, err))
	}
}

// Serialized returns an invoker that runs the service's calls one at a time,
// in the order they arrived (FIFO). While calls are pending one sched worker
// drains them; when the queue is empty it is given back, so an idle
// serialized service holds no worker, and queued calls hold none either.
func Serialized() Invoker { return &serialized{} }

type serialized struct {
	mu      sync.Mutex
	q       []*invocation
	running bool
}

func (s *serialized) invoke(p *Pool, inv *invocation) {
	s.mu.Lock()
	s.q = append(s.q, inv)
	if s.running {
		s.mu.Unlock()
		return
	}
	s.running = true
	s.mu.Unlock()
	s.start(p, inv.prio)
}

// start submits a job that drains the queue.
func (s *serialized) start(p *Pool, prio int) {
	if err := p.submit(prio, s.drain(p), func() { s.fail(p, nil) }); err != nil {
		s.fail(p, err)
	}
}

func (s *serialized) pop() *invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) == 0 {
		s.running = false
		s.q = nil
		return nil
	}
	inv := s.q[0]
	s.q[0] = nil
	s.q = s.q[1:]
	return inv
}

func (s *serialized) drain(p *Pool) func(ctx context.Context) {
	return func(ctx context.Context) {
		var inv *invocation
		ifGoexit(func() {
			for inv = s.pop(); inv != nil; inv = s.pop() {
				p.runToEnd(ctx, inv, inv.reply)
			}
		}, func() { s.start(p, inv.prio) }) // a method ended this job: another drains the rest
	}
}

// fail answers every queued call with a closed-pool error, when the drain job
// could not be submitted or was dropped.
func (s *serialized) fail(p *Pool, err error) {
	for inv := s.pop(); inv != nil; inv = s.pop() {
		inv.reply(nil, p.submitError(inv, err))
	}
}

// DedupOptions configures [Deduplicating].
type DedupOptions struct {
	// CacheFor keeps a completed call's result for this long, and identical
	// calls arriving meanwhile get it without running. Zero (the default)
	// caches nothing: only calls in flight at the same time share a result.
	CacheFor time.Duration
	// CacheErrors also caches results that are errors. Off by default: a
	// failed call is retried by the next identical call.
	CacheErrors bool
	// MaxCached bounds the number of cached results; the oldest are dropped
	// first. Default 1024.
	MaxCached int
}

// Deduplicating returns an invoker under which identical calls — same
// caller (authenticated and claimed source), same method, same arguments by
// their canonical CBOR encoding — share one execution and one result: the
// first runs, the others wait for its result without holding a sched worker.
// Calls from different callers never share a result, since the method sees
// the [CallInfo] of the call that runs. With o.CacheFor set, results are also kept for a while
// after completion (errors only with o.CacheErrors).
func Deduplicating(o DedupOptions) Invoker {
	if o.MaxCached <= 0 {
		o.MaxCached = 1024
	}
	return &dedup{o: o, inflight: map[string]*flight{}, cache: map[string]cachedResult{}}
}

type flight struct {
	waiters []*invocation
}

type cachedResult struct {
	body    []byte
	err     *Error
	expires time.Time
}

type cacheEntry struct {
	key     string
	expires time.Time
}

type dedup struct {
	o        DedupOptions
	mu       sync.Mutex
	inflight map[string]*flight
	cache    map[string]cachedResult
	order    []cacheEntry // insertion order, for expiry and the bound
}

func (d *dedup) invoke(p *Pool, inv *invocation) {
	key, err := canonEnc.Marshal(inv.req)
	if err != nil {
		inv.reply(nil, p.failed(inv, err, nil))
		return
	}
	// The caller is part of the key: the method sees the CallInfo of the
	// call that runs, and its result may depend on who asked (Auth,
	// HasParentAuthority, Src), so only one caller's identical calls share it.
	kb := make([]byte, 0, len(inv.m.name)+9+len(key))
	kb = append(kb, inv.m.name...)
	kb = append(kb, 0)
	kb = binary.BigEndian.AppendUint32(kb, uint32(inv.call.Auth))
	kb = binary.BigEndian.AppendUint32(kb, uint32(inv.call.Src))
	kb = append(kb, key...)
	k := string(kb)
	d.mu.Lock()
	if c, ok := d.cache[k]; ok {
		if time.Now().Before(c.expires) {
			d.mu.Unlock()
			inv.reply(c.body, c.err)
			return
		}
		delete(d.cache, k)
	}
	if f, ok := d.inflight[k]; ok {
		f.waiters = append(f.waiters, inv)
		d.mu.Unlock()
		return
	}
	f := &flight{waiters: []*invocation{inv}}
	d.inflight[k] = f
	d.mu.Unlock()
	err = p.submit(inv.prio, func(ctx context.Context) {
		p.runToEnd(ctx, inv, func(body []byte, e *Error) { d.finish(k, f, body, e) })
	}, func() { d.finish(k, f, nil, p.closedError(inv)) })
	if err != nil {
		d.finish(k, f, nil, p.submitError(inv, err))
	}
}

func (d *dedup) finish(k string, f *flight, body []byte, e *Error) {
	d.mu.Lock()
	delete(d.inflight, k)
	waiters := f.waiters
	f.waiters = nil
	if d.o.CacheFor > 0 && (e == nil || (d.o.CacheErrors && e.Code == CodeFailed)) {
		exp := time.Now().Add(d.o.CacheFor)
		d.cache[k] = cachedResult{body: body, err: e, expires: exp}
		d.order = append(d.order, cacheEntry{k, exp})
		d.trimLocked()
	}
	d.mu.Unlock()
	for _, w := range waiters {
		w.reply(body, e)
	}
}

// trimLocked drops expired entries and, beyond MaxCached, the oldest.
func (d *dedup) trimLocked() {
	now := time.Now()
	i := 0
	for ; i < len(d.order); i++ {
		e := d.order[i]
		c, ok := d.cache[e.key]
		if ok && !c.expires.Equal(e.expires) {
			continue // superseded by a later entry for the same key
		}
		if ok && now.Before(e.expires) && len(d.cache) <= d.o.MaxCached {
			break
		}
		delete(d.cache, e.key)
	}
	d.order = d.order[i:]
}

// inFlight returns the number of calls waiting on or running the flight for
// each key (for tests).
func (d *dedup) inFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, f := range d.inflight {
		n += len(f.waiters)
	}
	return n
}
