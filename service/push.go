package service

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/muster-sh/muster/mesh"
)

// PushFileServiceName is the canonical name of [PushFileService].
const PushFileServiceName = "muster.PushFileService"

// DefaultPushCacheBytes bounds a PushFileService's cache by default.
const DefaultPushCacheBytes = 256 << 20

// ErrPushTooLarge is returned by [PushFileService.PropagateTo] for a file
// that does not fit in one mesh message: a push carries the whole file in
// one message, so files must be smaller than the Router's MaxMessageSize
// (less a small envelope). Use [FileService] for larger files.
var ErrPushTooLarge = errors.New("service: file too large to push in one message")

// pushEnvelope bounds the bytes a push message adds to the file's data and
// path (service call envelope, field names, target).
const pushEnvelope = 256

// PushFileService pushes files down a tree of contexts: a file propagated
// to a target crosses each link on the way once, is kept in every context it
// passes through, and later targets below an intermediate context are
// served from there. Each context's cache is bounded in bytes and evicts the
// least recently used files; a context that no longer has a file it is asked
// to forward gets it again from its parent.
//
// Exposed methods: "store_and_forward" and "forward" (AllowParents; how the
// file travels), "get" (a cached file, for a child that lost it: allowed to
// the context's parents, and to a caller whose authenticated source is a
// neighbour the file was sent to, that is the subtree it was pushed into;
// anyone else is refused, whether or not the file is cached), "stats"
// (AllowParents). It uses the [Serialized] invoker, so each context
// handles the pushes in the order they arrive.
type PushFileService struct {
	pool *Pool
	max  int64

	mu      sync.Mutex
	lru     *list.List // of *pushEntry, most recent first
	byPath  map[string]*list.Element
	bytes   int64
	waiters map[string]*pushWaiter
	sent    map[mesh.ID]map[string]bool // next hop -> paths sent on that link
	sources map[string]bool             // paths this context read from disk
	stats   PushStats
}

// pushWaiter is closed when its path arrives; n Get calls wait on it.
type pushWaiter struct {
	ch chan struct{}
	n  int
}

type pushEntry struct {
	path string
	data []byte
}

// PushStats counts a PushFileService's traffic.
type PushStats struct {
	Received    int64 `cbor:"received"`     // files received with their data
	Sent        int64 `cbor:"sent"`         // files sent with their data
	Refetched   int64 `cbor:"refetched"`    // files fetched again from the parent after eviction
	Cached      int   `cbor:"cached"`       // files in the cache
	CachedBytes int64 `cbor:"cached_bytes"` // their total size
}

type pushData struct {
	Path   string  `cbor:"path"`
	Data   []byte  `cbor:"data"`
	Target mesh.ID `cbor:"target"`
}

type pushForward struct {
	Path   string  `cbor:"path"`
	Target mesh.ID `cbor:"target"`
}

func init() {
	Register(PushFileServiceName, func(p *Pool) (*Service, error) {
		return NewPushFileService(p, 0).Service(), nil
	})
}

// NewPushFileService returns a PushFileService for p whose cache holds at most
// maxBytes (0: DefaultPushCacheBytes). Add it with p.Add(s.Service()).
func NewPushFileService(p *Pool, maxBytes int64) *PushFileService {
	if maxBytes <= 0 {
		maxBytes = DefaultPushCacheBytes
	}
	return &PushFileService{pool: p, max: maxBytes, lru: list.New(), byPath: map[string]*list.Element{},
		waiters: map[string]*pushWaiter{}, sent: map[mesh.ID]map[string]bool{}, sources: map[string]bool{}}
}

// Service returns the service to add to the Pool.
func (s *PushFileService) Service() *Service {
	svc := New(PushFileServiceName).SetImpl(s).SetInvoker(Serialized())
	Expose(svc, "store_and_forward", func(ctx context.Context, c *CallInfo, r pushData) (struct{}, error) {
		s.store(r.Path, r.Data, true)
		// The data goes on as received, even if the cache could not keep it.
		return struct{}{}, s.forward(ctx, r.Target, r.Path, r.Data)
	}, AllowParents)
	Expose(svc, "forward", func(ctx context.Context, c *CallInfo, r pushForward) (struct{}, error) {
		return struct{}{}, s.forward(ctx, r.Target, r.Path, nil)
	}, AllowParents)
	Expose(svc, "get", func(ctx context.Context, c *CallInfo, r pathReq) ([]byte, error) {
		went := s.wentTo(c.Auth, r.Path)
		if !went && !c.HasParentAuthority() {
			return nil, Refuse("%q was not pushed toward context %d", r.Path, c.Auth)
		}
		if b, ok := s.lookup(r.Path); ok {
			return b, nil
		}
		if went {
			// It went from here to the caller and has been evicted
			// here too: get it again from disk or the parent, so that
			// a context at any depth below can still have it.
			return s.ensure(ctx, r.Path)
		}
		return nil, fmt.Errorf("%q is not in the cache of context %d", r.Path, s.pool.self)
	}, AllowAny)
	Expose(svc, "stats", func(context.Context, *CallInfo, struct{}) (PushStats, error) {
		return s.Stats(), nil
	}, AllowParents)
	return svc
}

// wentTo reports whether path was sent on the link to the neighbour hop, so
// that the contexts below hop may get it again.
func (s *PushFileService) wentTo(hop mesh.ID, path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[hop][path]
}

// Stats returns the service's counters.
func (s *PushFileService) Stats() PushStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Cached, st.CachedBytes = s.lru.Len(), s.bytes
	return st
}

// PropagateTo sends the file path (read from this context's disk unless it
// is cached) to the context target, through the tree, each link carrying it
// at most once. It returns once the file has been handed to the next hop;
// the target has it when its [PushFileService.Get] returns. A file that does
// not fit in one mesh message is refused with [ErrPushTooLarge]; a push that
// fails is not recorded, so the next one sends the data again.
func (s *PushFileService) PropagateTo(ctx context.Context, target mesh.ID, path string) error {
	if _, ok := s.lookup(path); !ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("service: propagating %q: %w", path, err)
		}
		s.mu.Lock()
		s.sources[path] = true
		s.mu.Unlock()
		s.store(path, b, false)
	}
	return s.forward(ctx, target, path, nil)
}

// Get returns the file path once it has been pushed to this context, waiting
// for it until ctx ends.
func (s *PushFileService) Get(ctx context.Context, path string) ([]byte, error) {
	for {
		s.mu.Lock()
		if e, ok := s.byPath[path]; ok {
			s.lru.MoveToFront(e)
			b := e.Value.(*pushEntry).data
			s.mu.Unlock()
			return b, nil
		}
		w := s.waiters[path]
		if w == nil {
			w = &pushWaiter{ch: make(chan struct{})}
			s.waiters[path] = w
		}
		w.n++
		s.mu.Unlock()
		select {
		case <-w.ch:
		case <-ctx.Done():
			s.mu.Lock()
			if w.n--; w.n == 0 && s.waiters[path] == w {
				delete(s.waiters, path) // nobody waits for it any more
			}
			s.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

func (s *PushFileService) lookup(path string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byPath[path]; ok {
		s.lru.MoveToFront(e)
		return e.Value.(*pushEntry).data, true
	}
	return nil, false
}

// store caches data for path, evicting the least recently used files beyond
// the bound, and wakes Get's waiters. A file larger than the bound is not
// kept.
func (s *PushFileService) store(path string, data []byte, received bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if received {
		s.stats.Received++
	}
	if w := s.waiters[path]; w != nil {
		close(w.ch)
		delete(s.waiters, path)
	}
	if e, ok := s.byPath[path]; ok {
		s.bytes -= int64(len(e.Value.(*pushEntry).data))
		s.lru.Remove(e)
		delete(s.byPath, path)
	}
	if int64(len(data)) > s.max {
		return
	}
	for s.bytes+int64(len(data)) > s.max {
		old := s.lru.Back()
		pe := old.Value.(*pushEntry)
		s.lru.Remove(old)
		delete(s.byPath, pe.path)
		s.bytes -= int64(len(pe.data))
	}
	s.byPath[path] = s.lru.PushFront(&pushEntry{path: path, data: data})
	s.bytes += int64(len(data))
}

// forward passes path on toward target: with its data if it has not
// crossed the link to the next hop yet, otherwise as a bare "forward". data
// is the file's, if the caller has it, or nil.
func (s *PushFileService) forward(ctx context.Context, target mesh.ID, path string, data []byte) error {
	r := s.pool.Router()
	if r == nil {
		return errNoRouter
	}
	if target == r.ID() {
		if data != nil {
			return nil
		}
		_, err := s.ensure(ctx, path)
		return err
	}
	hop, ok := r.NextHop(target)
	if !ok {
		return fmt.Errorf("service: no route from context %d to context %d", r.ID(), target)
	}
	next := r.Context(hop)
	if next == nil {
		return fmt.Errorf("service: next hop %d toward context %d is unknown", hop, target)
	}
	s.mu.Lock()
	sent := s.sent[hop]
	watch := sent == nil
	if watch {
		sent = map[string]bool{}
		s.sent[hop] = sent
	}
	already := sent[path]
	s.mu.Unlock()
	if watch {
		// What went down a link that is gone is forgotten with it.
		next.AfterGone(func(error) {
			s.mu.Lock()
			delete(s.sent, hop)
			s.mu.Unlock()
		})
	}
	if already {
		return CallNoReply(next, PushFileServiceName, "forward", pushForward{Path: path, Target: target})
	}
	if data == nil {
		var err error
		if data, err = s.ensure(ctx, path); err != nil {
			return err
		}
	}
	max := r.Config().MaxMessageSize
	tooLarge := func() error {
		return fmt.Errorf("%w: %q is %d bytes; a push is one message of at most %d bytes (the mesh's MaxMessageSize) including a %d-byte envelope and the path",
			ErrPushTooLarge, path, len(data), max, pushEnvelope)
	}
	if len(data)+len(path)+pushEnvelope > max {
		return tooLarge()
	}
	err := CallNoReply(next, PushFileServiceName, "store_and_forward", pushData{Path: path, Data: data, Target: target})
	if err != nil {
		var ce *mesh.ChannelError
		if errors.As(err, &ce) && strings.HasPrefix(ce.Reason, mesh.ReasonTooLarge) {
			return tooLarge()
		}
		return fmt.Errorf("service: pushing %q to context %d: %w", path, hop, err)
	}
	// Only a file handed to the link counts as sent: later pushes on this
	// link then go without data.
	s.mu.Lock()
	sent[path] = true
	s.stats.Sent++
	s.mu.Unlock()
	return nil
}

// ensure returns the data of path: from the cache, from disk if this context
// propagated it, or else from the parent (after an eviction).
func (s *PushFileService) ensure(ctx context.Context, path string) ([]byte, error) {
	if b, ok := s.lookup(path); ok {
		return b, nil
	}
	s.mu.Lock()
	fromDisk := s.sources[path]
	s.mu.Unlock()
	var b []byte
	var err error
	r := s.pool.Router()
	switch {
	case fromDisk:
		b, err = os.ReadFile(path)
	case r != nil && len(r.ParentIDs()) > 0:
		err = Call(ctx, r.Context(r.ParentIDs()[0]), PushFileServiceName, "get", pathReq{Path: path}, &b)
		if err == nil {
			s.mu.Lock()
			s.stats.Refetched++
			s.mu.Unlock()
		}
	default:
		err = fmt.Errorf("%q is not cached and has no source", path)
	}
	if err != nil {
		return nil, fmt.Errorf("service: pushing %q: %w", path, err)
	}
	s.store(path, b, false)
	return b, nil
}
