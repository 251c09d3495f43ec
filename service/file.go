package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/muster-sh/muster/mesh"
)

// FileServiceName is the canonical name of [FileService].
const FileServiceName = "muster.FileService"

// Defaults of [FileServiceOptions].
const (
	DefaultChunkSize   = 256 << 10
	DefaultWindow      = 4 << 20
	DefaultIdleTimeout = 2 * time.Minute
)

// ErrShortTransfer is returned by [Fetch] and [FetchFile] when the transfer
// ended before (or after) the size announced in the file's metadata.
var ErrShortTransfer = errors.New("service: file transfer ended at the wrong size")

var errNoRouter = errors.New("service: the pool serves no mesh Router")

// FileServiceOptions configures a [FileService].
type FileServiceOptions struct {
	// ChunkSize is the size of each data message. Default DefaultChunkSize.
	ChunkSize int
	// Window bounds the bytes sent and not yet acknowledged on each link
	// (per next hop), across the transfers on it. Default DefaultWindow.
	Window int
	// IdleTimeout drops a transfer whose fetcher has bytes in flight and
	// has acknowledged none of them for this long (between one and two
	// IdleTimeouts): a fetcher that stopped without saying so, or cannot be
	// reached, does not hold its link for ever. Default DefaultIdleTimeout;
	// negative: never.
	IdleTimeout time.Duration
}

// FileService serves files that its context registered to the contexts
// that fetch them, typically a parent serving its children.
//
// Only registered files, and files under registered directories
// (prefixes), can be fetched. A requested path is resolved (absolute,
// symbolic links evaluated) and the result must be a registered file or lie
// under a registered prefix, itself resolved when registered: a symbolic
// link cannot lead out of a prefix. Nor can a rename or link racing the
// check: a file under a prefix is opened through an os.Root of the prefix,
// which cannot leave it, and a registered file must be the file (device and
// inode) found when it was registered. Only regular files are served: a
// directory, FIFO, device or socket is refused without being read (nor
// waited on).
//
// A fetch first returns the file's metadata ([FileMeta]), then streams its
// bytes as raw messages to the fetcher's receiver, in chunks, keeping at
// most a window of unacknowledged bytes on each link; the fetcher
// acknowledges each chunk. Transfers sharing a link go one after the other,
// so that a busy link finishes files rather than interleaving many.
//
// A transfer ends when the file has been sent, when the fetcher cancels it
// (as [Fetch] does when it stops early), when the fetcher's context is known
// gone, or when the fetcher leaves bytes unacknowledged for the
// IdleTimeout; in every case its file is closed and its unacknowledged bytes
// are given back to the link's window.
//
// Exposed methods: "register" and "register_prefix" (AllowParents, argument
// Path), "fetch" (AllowAny, arguments Path and Sender), "ack" (AllowAny,
// arguments Sender and Size, which must be positive; an acknowledgement
// credits only the caller's own transfer, and never more than was sent on
// it) and "cancel" (AllowAny, argument Sender: the caller's own transfer). Use [Fetch] or [FetchFile] on the fetching side.
type FileService struct {
	pool   *Pool
	chunk  int
	window int
	idle   time.Duration

	mu       sync.Mutex
	paths    map[string]fs.FileInfo // registered files, by resolved path: the file found then
	prefixes []string
	links    map[mesh.ID]*fileLink
	xfers    map[xferKey]*transfer // sending, or waiting for acknowledgements
	closed   bool
}

// fileLink is the state of the transfers through one next hop.
type fileLink struct {
	hop     mesh.ID // the next hop, its key in FileService.links
	unacked int     // bytes sent on the link and not acknowledged
	jobs    []*transfer
	pumping bool
}

// xferKey names a transfer: the fetcher's context and the handle of its
// receiver.
type xferKey struct {
	dst mesh.ID
	h   mesh.Handle
}

type transfer struct {
	key      xferKey
	link     *fileLink
	f        *os.File
	sender   *mesh.Sender
	left     int64
	unacked  int         // bytes sent to the fetcher and not acknowledged
	acked    bool        // an acknowledgement came since the last idle check
	dropped  bool        // ended early; a pump sending it pops it
	released bool        // no longer in xfers
	finished bool        // finish has run
	unwatch  func() bool // stops the watch on the destination
	timer    *time.Timer // idle check
}

// FileMeta describes a file before its bytes arrive.
type FileMeta struct {
	Name       string      `cbor:"name"` // the path as requested
	Size       int64       `cbor:"size"`
	Mode       fs.FileMode `cbor:"mode"`
	ModTime    time.Time   `cbor:"mtime"`
	AccessTime time.Time   `cbor:"atime"`
	ChangeTime time.Time   `cbor:"ctime"`
	UID        int         `cbor:"uid"`
	GID        int         `cbor:"gid"`
}

type pathReq struct {
	Path string `cbor:"path"`
}

type fetchReq struct {
	Path   string         `cbor:"path"`
	Sender mesh.SenderRef `cbor:"sender"`
}

type ackReq struct {
	Sender mesh.SenderRef `cbor:"sender"`
	Size   int            `cbor:"size"`
}

type cancelReq struct {
	Sender mesh.SenderRef `cbor:"sender"`
}

func init() {
	Register(FileServiceName, func(p *Pool) (*Service, error) {
		return NewFileService(p, FileServiceOptions{}).Service(), nil
	})
}

// NewFileService returns a FileService for the Pool p; add it with
// p.Add(fs.Service()) (a child activates it on its parent's first call).
func NewFileService(p *Pool, o FileServiceOptions) *FileService {
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	return &FileService{pool: p, chunk: o.ChunkSize, window: o.Window, idle: o.IdleTimeout,
		paths: map[string]fs.FileInfo{}, links: map[mesh.ID]*fileLink{}, xfers: map[xferKey]*transfer{}}
}

// Service returns the service to add to the Pool.
func (s *FileService) Service() *Service {
	svc := New(FileServiceName).SetImpl(s)
	Expose(svc, "register", func(_ context.Context, _ *CallInfo, r pathReq) (struct{}, error) {
		return struct{}{}, s.Register(r.Path)
	}, AllowParents)
	Expose(svc, "register_prefix", func(_ context.Context, _ *CallInfo, r pathReq) (struct{}, error) {
		return struct{}{}, s.RegisterPrefix(r.Path)
	}, AllowParents)
	Expose(svc, "fetch", s.fetch, AllowAny)
	Expose(svc, "ack", s.ack, AllowAny)
	Expose(svc, "cancel", s.cancel, AllowAny)
	svc.OnShutdown(func(context.Context) { s.shutdown() })
	return svc
}

func resolve(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("path %q is not absolute", path)
	}
	return filepath.EvalSymlinks(filepath.Clean(path))
}

// Register allows the file at path to be fetched. The path is resolved now
// (symbolic links evaluated); a fetch must resolve to the same file path,
// and the file opened must be the one found now (same device and inode),
// so that nothing swapped in on the way can be served. A file replaced
// since (a new file renamed over it) must be registered again.
func (s *FileService) Register(path string) error {
	r, err := resolve(path)
	if err != nil {
		return fmt.Errorf("service: registering %q: %w", path, err)
	}
	st, err := os.Stat(r)
	if err != nil {
		return fmt.Errorf("service: registering %q: %w", path, err)
	}
	s.mu.Lock()
	s.paths[r] = st
	s.mu.Unlock()
	return nil
}

// RegisterPrefix allows every regular file under the directory path to be
// fetched. The directory is resolved now; a fetched path must resolve to a
// file under it, and is opened relative to the directory without leaving it
// (an os.Root), whatever is renamed or linked on the way meanwhile.
func (s *FileService) RegisterPrefix(path string) error {
	r, err := resolve(path)
	if err != nil {
		return fmt.Errorf("service: registering prefix %q: %w", path, err)
	}
	s.mu.Lock()
	s.prefixes = append(s.prefixes, r)
	s.mu.Unlock()
	return nil
}

// authorized reports whether the resolved path may be served, and how: the
// prefix it lies under (preferred), or the registered file's status.
func (s *FileService) authorized(resolved string) (prefix string, reg fs.FileInfo, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.prefixes {
		if p == "/" || strings.HasPrefix(resolved, p+string(filepath.Separator)) {
			return p, nil, true
		}
	}
	if st := s.paths[resolved]; st != nil {
		return "", st, true
	}
	return "", nil, false
}

// open opens the authorized file resolved: under its prefix through an
// os.Root, which cannot leave the prefix; a registered file by its path,
// checked to be the file registered. Either way it is a regular file.
func (s *FileService) open(resolved, prefix string, reg fs.FileInfo) (*os.File, fs.FileInfo, error) {
	if reg != nil {
		f, st, err := openRegular(os.OpenFile, resolved)
		if err != nil {
			return nil, nil, err
		}
		if !os.SameFile(st, reg) {
			f.Close()
			return nil, nil, Refuse("%q is no longer the file registered with %s", resolved, FileServiceName)
		}
		return f, st, nil
	}
	root, err := os.OpenRoot(prefix)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	rel, err := filepath.Rel(prefix, resolved)
	if err != nil {
		return nil, nil, err
	}
	return openRegular(root.OpenFile, rel)
}

func (s *FileService) fetch(_ context.Context, c *CallInfo, r fetchReq) (FileMeta, error) {
	if s.pool.Router() == nil {
		return FileMeta{}, errNoRouter
	}
	if r.Sender.Context != c.Src {
		return FileMeta{}, Refuse("the sender must belong to the caller (context %d), not context %d", c.Src, r.Sender.Context)
	}
	resolved, err := resolve(r.Path)
	var prefix string
	var reg fs.FileInfo
	ok := err == nil
	if ok {
		prefix, reg, ok = s.authorized(resolved)
	}
	if !ok {
		return FileMeta{}, Refuse("path %q is not registered with %s", r.Path, FileServiceName)
	}
	if testHookFetchOpen != nil {
		testHookFetchOpen(resolved)
	}
	f, st, err := s.open(resolved, prefix, reg)
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return FileMeta{}, err // a refusal, passed as it is
		}
		return FileMeta{}, fmt.Errorf("fetching %q: %w", r.Path, err)
	}
	meta := FileMeta{Name: r.Path, Size: st.Size(), Mode: st.Mode(), ModTime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		meta.AccessTime = time.Unix(sys.Atim.Unix())
		meta.ChangeTime = time.Unix(sys.Ctim.Unix())
		meta.UID, meta.GID = int(sys.Uid), int(sys.Gid)
	}
	dc := s.pool.Router().Context(r.Sender.Context)
	if dc == nil {
		f.Close()
		return FileMeta{}, fmt.Errorf("fetching %q: context %d is unknown here", r.Path, r.Sender.Context)
	}
	key := xferKey{r.Sender.Context, r.Sender.Handle}
	t := &transfer{key: key, f: f, sender: s.pool.Router().Sender(r.Sender), left: st.Size()}
	hop := s.hop(key.dst)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		f.Close()
		return FileMeta{}, &Error{Code: CodeClosed, refusal: true}
	}
	if s.xfers[key] != nil {
		s.mu.Unlock()
		f.Close()
		return FileMeta{}, Refuse("receiver %d of context %d already has a transfer", key.h, key.dst)
	}
	l := s.links[hop]
	if l == nil {
		l = &fileLink{hop: hop}
		s.links[hop] = l
	}
	t.link = l
	l.jobs = append(l.jobs, t)
	s.xfers[key] = t
	if s.idle > 0 {
		t.timer = time.AfterFunc(s.idle, func() { s.idleCheck(t) })
	}
	s.mu.Unlock()
	stop := dc.AfterGone(func(error) { s.gone(key.dst) })
	s.mu.Lock()
	if t.released {
		stop()
	} else {
		t.unwatch = stop
	}
	s.mu.Unlock()
	// The metadata goes first: the chunks follow the answer on the link.
	c.afterReply(func() { s.pump(l) })
	return meta, nil
}

// dropLocked ends transfer t early: its unacknowledged bytes go back to its
// link's window, and its file and stream are closed, by the pump if the
// pump is sending it. It returns t's link, to pump again.
func (s *FileService) dropLocked(t *transfer) *fileLink {
	l := t.link
	if t.released {
		return l
	}
	l.unacked -= t.unacked
	t.unacked = 0
	t.dropped = true
	s.releaseLocked(t)
	if l.pumping && len(l.jobs) > 0 && l.jobs[0] == t {
		return l // the pump pops it after its current chunk
	}
	if i := slices.Index(l.jobs, t); i >= 0 {
		l.jobs = slices.Delete(l.jobs, i, i+1)
	}
	t.finish()
	return l
}

// releaseLocked forgets t: nothing is in flight on it any more.
func (s *FileService) releaseLocked(t *transfer) {
	if t.released {
		return
	}
	t.released = true
	delete(s.xfers, t.key)
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.unwatch != nil {
		t.unwatch()
	}
}

// repump pumps the links again on sched jobs, for callers that must not
// block (mesh callbacks and timers).
func (s *FileService) repump(links ...*fileLink) {
	for _, l := range links {
		_ = s.pool.submit(s.pool.cfg.Priority, func(context.Context) { s.pump(l) }, nil)
	}
}

// testHookFetchOpen, if set, runs between a fetch's check of the path and
// its open (for tests).
var testHookFetchOpen func(resolved string)

// errNotRegular is the cause of a refusal to serve a directory, FIFO,
// device or socket.
var errNotRegular = errors.New("not a regular file")

// openRegular opens name for reading with open (os.OpenFile or an
// os.Root's), returning it and its status only if it is a regular file. The
// open does not block (a FIFO's would, until a writer came) and does not
// follow a final symbolic link; the check is on the opened file itself, and
// the descriptor is switched back to blocking reads.
func openRegular(open func(name string, flag int, perm fs.FileMode) (*os.File, error), name string) (*os.File, fs.FileInfo, error) {
	f, err := open(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%w (mode %v)", errNotRegular, st.Mode().Type())
	}
	if err == nil {
		var rc syscall.RawConn
		if rc, err = f.SyscallConn(); err == nil {
			if cerr := rc.Control(func(fd uintptr) { err = syscall.SetNonblock(int(fd), false) }); cerr != nil {
				err = cerr
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// gone drops the transfers to dst, a context known gone.
func (s *FileService) gone(dst mesh.ID) {
	var resume []*fileLink
	s.mu.Lock()
	for k, t := range s.xfers {
		if k.dst == dst {
			resume = append(resume, s.dropLocked(t))
		}
	}
	s.mu.Unlock()
	s.repump(resume...)
}

// idleCheck runs every IdleTimeout for each transfer: one with bytes in
// flight and no acknowledgement since the last check is dropped.
func (s *FileService) idleCheck(t *transfer) {
	s.mu.Lock()
	idle := s.idle
	if t.released || idle <= 0 {
		s.mu.Unlock()
		return
	}
	if t.unacked == 0 || t.acked {
		t.acked = false
		t.timer.Reset(idle)
		s.mu.Unlock()
		return
	}
	l := s.dropLocked(t)
	s.mu.Unlock()
	s.pool.log.Warn("file transfer dropped: no acknowledgement", "file", t.f.Name(), "dst", t.key.dst, "idle", idle)
	s.repump(l)
}

// pending returns the number of transfers sending or waiting for
// acknowledgements (for tests).
func (s *FileService) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.xfers)
}

// linksHeld is the number of links the FileService keeps state for.
func (s *FileService) linksHeld() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.links)
}

func (s *FileService) hop(dst mesh.ID) mesh.ID {
	if h, ok := s.pool.Router().NextHop(dst); ok {
		return h
	}
	return dst
}

func (s *FileService) ack(_ context.Context, c *CallInfo, r ackReq) (struct{}, error) {
	if r.Size <= 0 {
		// A negative size would add to the link's debt and close its
		// window for good.
		return struct{}{}, badArg("size", strconv.Itoa(r.Size), "a positive number of bytes received")
	}
	s.mu.Lock()
	t := s.xfers[xferKey{c.Src, r.Sender.Handle}] // only the caller's own
	if t == nil {
		s.mu.Unlock()
		return struct{}{}, nil // a late acknowledgement of a dropped transfer
	}
	// A fetcher can only give back what was sent to it.
	n := min(r.Size, t.unacked)
	t.unacked -= n
	t.link.unacked -= n
	t.acked = true
	if t.finished && t.unacked == 0 {
		s.releaseLocked(t)
	}
	l := t.link
	s.mu.Unlock()
	s.pump(l)
	return struct{}{}, nil
}

// cancel drops the caller's transfer to its receiver r.Sender, if it still
// runs.
func (s *FileService) cancel(_ context.Context, c *CallInfo, r cancelReq) (struct{}, error) {
	s.mu.Lock()
	t := s.xfers[xferKey{c.Src, r.Sender.Handle}]
	var l *fileLink
	if t != nil {
		l = s.dropLocked(t)
	}
	s.mu.Unlock()
	if l != nil {
		s.pump(l)
	}
	return struct{}{}, nil
}

// pump sends chunks on link l while its window has room. One goroutine
// pumps a link at a time; others return at once.
func (s *FileService) pump(l *fileLink) {
	s.mu.Lock()
	if l.pumping {
		s.mu.Unlock()
		return
	}
	l.pumping = true
	var buf []byte
	for len(l.jobs) > 0 {
		t := l.jobs[0]
		if t.dropped {
			l.jobs = l.jobs[1:]
			t.finish()
			continue
		}
		if l.unacked >= s.window {
			break
		}
		n := int(min(int64(s.chunk), t.left))
		l.unacked += n
		t.unacked += n
		s.mu.Unlock()
		var err error
		if n > 0 {
			if buf == nil {
				buf = make([]byte, s.chunk)
			}
			_, err = io.ReadFull(t.f, buf[:n])
			if err == nil {
				err = t.sender.SendBytes(buf[:n])
			}
		}
		s.mu.Lock()
		if t.dropped {
			continue // dropped meanwhile, its bytes given back: popped above
		}
		t.left -= int64(n)
		switch {
		case err != nil:
			s.pool.log.Warn("file transfer aborted", "file", t.f.Name(), "dst", t.key.dst, "err", err)
			s.dropLocked(t)
		case t.left <= 0:
			l.jobs = l.jobs[1:]
			t.finish()
			if t.unacked == 0 {
				s.releaseLocked(t)
			}
		}
	}
	l.pumping = false
	if len(l.jobs) == 0 && l.unacked == 0 && s.links[l.hop] == l {
		// Idle: forget it, or the map grows with every child that ever
		// fetched; the next transfer on this hop starts a new one.
		delete(s.links, l.hop)
	}
	s.mu.Unlock()
}

// finish closes the file and the stream; the fetcher sees the end. It is
// called with the FileService's lock held.
func (t *transfer) finish() {
	if t.finished {
		return
	}
	t.finished = true
	t.f.Close()
	_ = t.sender.Close()
}

func (s *FileService) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, t := range s.xfers {
		s.dropLocked(t)
	}
}

// Fetch fetches the file path from the FileService of context c and writes
// its bytes to w, acknowledging each chunk. It returns the file's metadata
// and the number of bytes written; if the transfer ends short (c went away,
// or its FileService shut down), the error wraps [ErrShortTransfer] or is a
// *mesh.ChannelError. If Fetch stops early (ctx ends, w fails, an
// acknowledgement cannot be sent), it cancels the transfer in c, so that
// the link is free for the next one.
func Fetch(ctx context.Context, c *mesh.Context, path string, w io.Writer) (FileMeta, int64, error) {
	r := c.Router()
	rc := r.NewReceiver(16)
	defer rc.Close()
	rc.AcceptOnly(c.ID()) // the stream comes from c's FileService only
	rc.Watch(c)
	var meta FileMeta
	ref := rc.Sender()
	ended := false
	defer func() {
		if !ended {
			// Stopped early (or the fetch call's outcome is unknown): the
			// server drops the transfer rather than wait for acknowledgements
			// that will not come.
			_ = CallNoReply(c, FileServiceName, "cancel", cancelReq{Sender: ref})
		}
	}()
	if err := Call(ctx, c, FileServiceName, "fetch", fetchReq{Path: path, Sender: ref}, &meta); err != nil {
		var se *Error
		ended = errors.As(err, &se) // refused or failed: no transfer started
		return meta, 0, err
	}
	var n int64
	for {
		m, err := rc.Recv(ctx)
		if err != nil {
			var ce *mesh.ChannelError
			if errors.As(err, &ce) && strings.HasPrefix(ce.Reason, mesh.ReasonSenderClosed) {
				ended = true
				break
			}
			return meta, n, fmt.Errorf("service: fetching %q from context %d after %d of %d bytes: %w", path, c.ID(), n, meta.Size, err)
		}
		if m.Src != c.ID() {
			continue // only the server's chunks count
		}
		if _, err := w.Write(m.Body); err != nil {
			return meta, n, fmt.Errorf("service: writing %q: %w", path, err)
		}
		n += int64(len(m.Body))
		if err := CallNoReply(c, FileServiceName, "ack", ackReq{Sender: ref, Size: len(m.Body)}); err != nil {
			return meta, n, fmt.Errorf("service: acknowledging a chunk of %q: %w", path, err)
		}
	}
	if n != meta.Size {
		return meta, n, fmt.Errorf("%w: %q from context %d: got %d bytes, want %d", ErrShortTransfer, path, c.ID(), n, meta.Size)
	}
	return meta, n, nil
}

// FetchFile fetches the file path from the FileService of context c into
// the local file dst. The bytes go to a temporary file in dst's directory,
// which is renamed to dst only once the full size has arrived, with the
// source's permission bits and times; on any failure the temporary file is
// removed and dst is left as it was.
func FetchFile(ctx context.Context, c *mesh.Context, path, dst string) (FileMeta, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".part-*")
	if err != nil {
		return FileMeta{}, fmt.Errorf("service: fetching %q: %w", path, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	meta, _, err := Fetch(ctx, c, path, tmp)
	if err != nil {
		return meta, err
	}
	if err := tmp.Chmod(meta.Mode.Perm()); err != nil {
		return meta, fmt.Errorf("service: fetching %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return meta, fmt.Errorf("service: fetching %q: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return meta, fmt.Errorf("service: fetching %q: %w", path, err)
	}
	ok = true
	_ = os.Chtimes(dst, meta.AccessTime, meta.ModTime)
	return meta, nil
}
