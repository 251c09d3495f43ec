package mesh

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// AgentEnv is the environment variable that marks a process started as a
// mesh agent; MaybeAgent serves when it is "1".
const AgentEnv = "MUSTER_MESH_AGENT"

// greeting is what an agent writes first on its stdout. The parent skips
// anything before it (a login banner, a shell's noise), so noise is never
// mistaken for a frame.
var greeting = []byte("\x00MUSTER-MESH-AGENT/" + strconv.Itoa(int(Version)) + "\n")

// bootConfig is the first frame a parent sends a new child.
type bootConfig struct {
	_              struct{} `cbor:",toarray"`
	ID             ID
	ParentIDs      []ID
	Name           string
	MaxMessageSize int
	ShutdownGrace  time.Duration
	Debug          bool
}

// bootReady is the child's answer to bootConfig.
type bootReady struct {
	_   struct{} `cbor:",toarray"`
	PID int
}

var (
	agentHooksMu sync.Mutex
	agentHooks   []func(*Router)
)

// OnAgent registers fn to run in an agent once its Router is up (its ID
// and ParentIDs are known and handlers may be added) and before the first
// message from the parent is read. Call it from init.
func OnAgent(fn func(r *Router)) {
	agentHooksMu.Lock()
	agentHooks = append(agentHooks, fn)
	agentHooksMu.Unlock()
}

// MaybeAgent serves as a mesh agent and exits when this process was
// started as one (AgentEnv=1); otherwise it returns at once. Call it first
// in main, and in TestMain of test binaries that start Local children.
func MaybeAgent() {
	if os.Getenv(AgentEnv) != "1" {
		return
	}
	os.Exit(RunAgent())
}

// RunAgent serves the mesh protocol on stdin/stdout until the parent link
// closes or the parent shuts this context down, and returns the exit
// status. Standard input is replaced with /dev/null and standard output
// with standard error, so that nothing else can write into the stream.
func RunAgent() int {
	_ = os.Unsetenv(AgentEnv)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	in, out, err := takeStdio()
	if err != nil {
		logger.Error("mesh agent: cannot take over stdio", "err", err)
		return 1
	}
	// kill closes both ends: a read and a write the parent no longer
	// serves both return at once.
	kill := func() error { _ = out.Close(); return in.Close() }
	if err := serveAgent(in, out, kill, logger); err != nil {
		logger.Error("mesh agent", "err", err)
		return 1
	}
	return 0
}

// takeStdio moves the link to new descriptors and points fd 0 at /dev/null
// and fd 1 at stderr.
func takeStdio() (in, out *os.File, err error) {
	fin, err := unix.Dup(0)
	if err != nil {
		return nil, nil, err
	}
	fout, err := unix.Dup(1)
	if err != nil {
		return nil, nil, err
	}
	unix.CloseOnExec(fin)
	unix.CloseOnExec(fout)
	// Non-blocking descriptors go through the runtime poller, so closing
	// the link's input interrupts a pending read.
	_ = unix.SetNonblock(fin, true)
	_ = unix.SetNonblock(fout, true)
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, nil, err
	}
	defer null.Close()
	if err := unix.Dup2(int(null.Fd()), 0); err != nil {
		return nil, nil, err
	}
	if err := unix.Dup2(2, 1); err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fin), "mesh-in"), os.NewFile(uintptr(fout), "mesh-out"), nil
}

// serveAgent runs the child side of the handshake on in/out and serves
// until the Router closes.
func serveAgent(in io.Reader, out io.WriteCloser, kill func() error, logger *slog.Logger) error {
	if _, err := out.Write(greeting); err != nil {
		return fmt.Errorf("writing the greeting: %w", err)
	}
	br := bufio.NewReaderSize(newSpinReader(in), readBufSize)
	var hdr [HeaderSize]byte
	m, err := readFrame(br, &hdr, 1<<20)
	if err != nil {
		return fmt.Errorf("reading the boot frame: %w", err)
	}
	bc, err := parseBoot(m)
	if err != nil {
		return err
	}
	r, err := newRouter(Config{
		MaxMessageSize: bc.MaxMessageSize,
		ShutdownGrace:  bc.ShutdownGrace,
		Debug:          bc.Debug,
		Logger:         logger.With("context", bc.ID),
	}, bc.ID, bc.ParentIDs)
	if err != nil {
		return err
	}
	r.myself.name = bc.Name
	agentHooksMu.Lock()
	hooks := slices.Clone(agentHooks)
	agentHooksMu.Unlock()
	for _, fn := range hooks {
		fn(r)
	}
	l := newLink(r, bc.ParentIDs[0], true, "parent", br, out, nil, func() { _ = kill() })
	body, _ := Encode(bootReady{PID: os.Getpid()})
	_ = l.send(&Message{Dst: l.peer, Src: r.id, Auth: r.id, Handle: HandleBoot, Body: body})
	r.mu.Lock()
	r.parent = l
	r.mu.Unlock()
	l.start()
	<-r.done
	return nil
}

// parseBoot checks a boot frame and decodes its configuration.
func parseBoot(m *Message) (bootConfig, error) {
	var bc bootConfig
	if m.Handle != HandleBoot || m.Flags != 0 {
		return bc, fmt.Errorf("first frame is for handle %d with flags %#x, want the boot handle %d", m.Handle, m.Flags, HandleBoot)
	}
	if err := Decode(m.Body, &bc); err != nil {
		return bc, fmt.Errorf("boot frame: %w", err)
	}
	if len(bc.ParentIDs) == 0 || bc.ID != m.Dst || m.Src != bc.ParentIDs[0] || m.Auth != m.Src || bc.ID == 0 ||
		slices.Contains(bc.ParentIDs, bc.ID) || bc.ParentIDs[len(bc.ParentIDs)-1] != 0 {
		return bc, fmt.Errorf("boot frame: id %d, parents %v from %d: inconsistent", bc.ID, bc.ParentIDs, m.Src)
	}
	if err := (Config{MaxMessageSize: bc.MaxMessageSize, ShutdownGrace: bc.ShutdownGrace}).Validate(); err != nil {
		return bc, fmt.Errorf("boot frame: %w", err)
	}
	return bc, nil
}

// handshake runs the parent side: skip noise up to the greeting, send the
// boot frame, read the ready frame. It returns the reader to keep using.
func (r *Router) handshake(ctx context.Context, id ID, name string, rd io.Reader, w io.Writer, timeout time.Duration, kill func()) (*bufio.Reader, error) {
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	fired := make(chan struct{})
	stopT := time.AfterFunc(timeout, func() { close(fired); kill() })
	defer stopT.Stop()
	stopC := context.AfterFunc(ctx, kill)
	defer stopC()
	br := bufio.NewReaderSize(newSpinReader(rd), readBufSize)
	fail := func(what string, err error, noise []byte) error {
		select {
		case <-fired:
			err = fmt.Errorf("timed out after %v: %w", timeout, context.DeadlineExceeded)
		default:
			if ctx.Err() != nil {
				err = ctx.Err()
			}
		}
		if len(noise) > 0 {
			return fmt.Errorf("%s: %w (output before: %q)", what, err, noise)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	var seen []byte
	for !bytes.HasSuffix(seen, greeting) {
		b, err := br.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = &noGreetingError{output: seen}
			}
			return nil, fail("waiting for the agent greeting", err, seen)
		}
		seen = append(seen, b)
		if len(seen) > 64<<10 {
			return nil, fail("waiting for the agent greeting", errors.New("no greeting in the first 64 KiB of output"), seen[len(seen)-256:])
		}
	}
	body, err := Encode(bootConfig{
		ID: id, ParentIDs: append([]ID{r.id}, r.parentIDs...), Name: name,
		MaxMessageSize: r.cfg.MaxMessageSize, ShutdownGrace: r.cfg.ShutdownGrace, Debug: r.cfg.Debug,
	})
	if err != nil {
		return nil, err
	}
	var hdr [HeaderSize]byte
	if err := writeFrame(w, &hdr, &Message{Dst: id, Src: r.id, Auth: r.id, Handle: HandleBoot, Body: body}); err != nil {
		return nil, fail("sending the boot frame", err, nil)
	}
	m, err := readFrame(br, &hdr, 1<<20)
	if err != nil {
		if err == io.EOF {
			err = errors.New("agent exited during the handshake")
		}
		return nil, fail("waiting for the agent to be ready", err, nil)
	}
	if m.Handle != HandleBoot || m.Src != id {
		return nil, fail("waiting for the agent to be ready", fmt.Errorf("got a frame for handle %d from %d", m.Handle, m.Src), nil)
	}
	return br, nil
}

// noGreetingError reports a process that ended its output without the
// agent greeting; output is what it wrote instead.
type noGreetingError struct{ output []byte }

func (e *noGreetingError) Error() string { return "agent exited before its greeting" }

// attachChild registers a started child's link and starts serving it.
func (r *Router) attachChild(id ID, name string, br *bufio.Reader, wc io.WriteCloser, stop, kill func(), stderr *tailWriter) (*Context, error) {
	l := newLink(r, id, false, name, br, wc, stop, kill)
	l.stderr = stderr
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = wc.Close()
		kill()
		stop()
		return nil, ErrClosed
	}
	r.links[l] = struct{}{}
	r.routes[id] = l
	l.grantLocked(id, 1)
	c := newContext(r, id, name)
	c.link = l
	r.contexts[id] = c
	parent := r.parent
	r.mu.Unlock()
	if parent != nil {
		body, _ := Encode(routeMsg{ID: id, Name: name})
		_ = parent.send(&Message{Dst: parent.peer, Src: r.id, Auth: r.id, Handle: HandleAddRoute, Body: body})
	}
	l.start()
	return c, nil
}
