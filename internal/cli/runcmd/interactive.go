package runcmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/nodeset"
)

// errInterrupted is a Ctrl-C typed at the prompt.
var errInterrupted = errors.New("interrupted at the prompt")

// historyMax is how many lines are kept for recall (Up) at the prompt.
// The shared ~/.clush_history is only ever appended to, never cut (clush's
// readline keeps every line, and other sessions may be writing it);
// muster's own history file is cut back to historyMax lines when it has
// grown past twice that.
const historyMax = 1000

// historyPath is where interactive mode keeps its history: clush's
// ~/.clush_history under the name clush (the two share it), else
// $XDG_STATE_HOME/muster/history (~/.local/state/muster/history).
func historyPath(prog string) string {
	home := os.Getenv("HOME")
	if prog == "clush" {
		return filepath.Join(home, ".clush_history")
	}
	state := os.Getenv("XDG_STATE_HOME")
	if state == "" {
		state = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(state, "muster", "history")
}

// history is the lines typed at the prompt, oldest first; it implements
// term.History (index 0 is the newest there). Each line added is appended
// to the file at once.
type history struct {
	path  string
	lines []string
}

// loadHistory reads the history file at path. With compact (muster's own
// file, not clush's), a file longer than twice historyMax lines is
// rewritten with its last historyMax lines.
func loadHistory(path string, compact bool) *history {
	h := &history{path: path}
	data, err := os.ReadFile(path)
	if err != nil {
		return h
	}
	for l := range strings.SplitSeq(string(data), "\n") {
		if l != "" {
			h.lines = append(h.lines, l)
		}
	}
	if compact && len(h.lines) > 2*historyMax {
		h.trim()
		h.rewrite()
	}
	h.trim()
	return h
}

func (h *history) trim() {
	if len(h.lines) > historyMax {
		h.lines = slices.Clone(h.lines[len(h.lines)-historyMax:])
	}
}

// rewrite replaces the file with the lines kept (atomically: a file
// written next to it, then renamed); failures only lose history.
func (h *history) rewrite() {
	tmp, err := os.CreateTemp(filepath.Dir(h.path), ".history-*")
	if err != nil {
		return
	}
	var b strings.Builder
	for _, l := range h.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, err = tmp.WriteString(b.String())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), h.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// Add records a line typed at the prompt and appends it to the file.
func (h *history) Add(entry string) {
	if entry == "" {
		return
	}
	h.lines = append(h.lines, entry)
	h.trim()
	h.appendFile(entry)
}

// appendFile appends one line to the history file, after a newline if
// the file does not end with one; failures only lose history.
func (h *history) appendFile(entry string) {
	if h.path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(h.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	line := entry + "\n"
	last := make([]byte, 1)
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	f.WriteString(line)
}

// Len is the number of lines kept.
func (h *history) Len() int { return len(h.lines) }

// At returns the idx-th newest line.
func (h *history) At(idx int) string { return h.lines[len(h.lines)-1-idx] }

// lineReader reads the lines typed at the prompt.
type lineReader interface {
	readLine(prompt string) (string, error)
}

// plainReader reads lines from a reader that is not a terminal device
// (tests, or a terminal we cannot put in raw mode).
type plainReader struct {
	in   *bufio.Reader
	out  io.Writer
	hist *history
}

func (r *plainReader) readLine(prompt string) (string, error) {
	io.WriteString(r.out, prompt)
	line, err := r.in.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	r.hist.Add(line)
	return line, nil
}

// keyCtrlZ is Ctrl-Z, the terminal's suspend character.
const keyCtrlZ = 0x1a

// ttyInput reads the keys typed at the prompt from the terminal's file
// descriptor. It hands out one byte per Read, so that what was typed ahead
// stays here, not in a Terminal that is dropped after the line; it notes
// when Ctrl-C goes by (term.Terminal reports it as end of file, like
// Ctrl-D). It waits for input with poll(2) on the terminal and on wake, a
// pipe written when the session's context ends, so that SIGTERM or SIGHUP
// at the prompt need no key to take effect (the read gives up with
// context.Canceled). Ctrl-Z, which raw mode turns into a key, is not
// handed out: suspend is called instead.
type ttyInput struct {
	fd      int
	wake    int
	buf     []byte
	hit     bool
	suspend func()
}

func (c *ttyInput) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(c.buf) == 0 || c.buf[0] == keyCtrlZ {
		if len(c.buf) > 0 {
			c.buf = c.buf[1:]
			if c.suspend != nil {
				c.suspend()
			}
			continue
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}, {Fd: int32(c.wake), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err == unix.EINTR {
			continue
		} else if err != nil {
			return 0, fmt.Errorf("waiting for the terminal: %w", err)
		}
		if fds[1].Revents != 0 {
			return 0, context.Canceled
		}
		var chunk [256]byte
		n, err := unix.Read(c.fd, chunk[:])
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			continue
		case err != nil:
			return 0, fmt.Errorf("reading the terminal: %w", err)
		case n == 0:
			return 0, io.EOF
		}
		c.buf = append(c.buf[:0], chunk[:n]...)
	}
	p[0] = c.buf[0]
	c.buf = c.buf[1:]
	if p[0] == 3 {
		c.hit = true
	}
	return 1, nil
}

// termReader edits lines on a terminal with golang.org/x/term: the tty is
// in raw mode only while a line is typed, so that Ctrl-C during a command
// is a SIGINT and at the prompt just a key.
type termReader struct {
	fd   int
	in   *ttyInput
	out  io.Writer
	hist *history
}

func (r *termReader) readLine(prompt string) (string, error) {
	old, err := term.MakeRaw(r.fd)
	if err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	defer term.Restore(r.fd, old)
	// A new Terminal each time: after Ctrl-C the old one keeps its line.
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{r.in, r.out}, prompt)
	t.History = r.hist
	if w, h, err := term.GetSize(r.fd); err == nil {
		t.SetSize(w, h)
	}
	r.in.hit = false
	r.in.suspend = func() {
		// what the terminal does on Ctrl-Z with signals on (and readline
		// with it): back to the normal mode, stop the job; once continued,
		// raw mode again and the prompt and line drawn anew
		term.Restore(r.fd, old)
		io.WriteString(r.out, "^Z")
		stopJob()
		term.MakeRaw(r.fd)
		t.Write(nil)
	}
	defer func() { r.in.suspend = nil }()
	line, err := t.ReadLine()
	switch {
	case errors.Is(err, context.Canceled):
		io.WriteString(r.out, "\r\n")
	case errors.Is(err, io.EOF) && r.in.hit:
		io.WriteString(r.out, "^C\r\n")
		return "", errInterrupted
	}
	return line, err
}

// stopJob stops muster's process group as Ctrl-Z does on a terminal with
// signals on, and returns once muster has been continued (SIGCONT): the
// signal sent to the group may stop this process only after kill returns.
// It does not wait when SIGTSTP is ignored, nor (after a second) when the
// system discards it, as for an orphaned process group.
func stopJob() {
	if signal.Ignored(syscall.SIGTSTP) {
		return
	}
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGCONT)
	defer signal.Stop(cont)
	if unix.Kill(0, unix.SIGTSTP) != nil {
		return
	}
	// stopped meanwhile, the timer may fire as soon as muster is continued
	// too: either way the stop has happened
	tm := time.NewTimer(time.Second)
	defer tm.Stop()
	select {
	case <-cont:
	case <-tm.C:
	}
}

// newLineReader returns the reader of the prompt's lines, and a function
// that releases it. On a terminal, the end of ctx stops a read at once.
func newLineReader(ctx context.Context, stdio cli.Stdio, hist *history) (lineReader, func()) {
	if f, ok := stdio.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err == nil {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				select {
				case <-ctx.Done():
					unix.Write(p[1], []byte{1})
				case <-stop:
				}
			})
			release := func() {
				close(stop)
				wg.Wait()
				unix.Close(p[0])
				unix.Close(p[1])
			}
			in := &ttyInput{fd: int(f.Fd()), wake: p[0]}
			return &termReader{fd: in.fd, in: in, out: stdio.Out, hist: hist}, release
		}
	}
	return &plainReader{in: bufio.NewReader(stdio.In), out: stdio.Out, hist: hist}, func() {}
}

// parseNodes reads a node set typed at the prompt, with groups.
func (s *session) parseNodes(str string) (nodeset.NodeSet, error) {
	opts := []nodeset.Option{nodeset.WithResolver(s.res)}
	if s.o.groupSource != "" {
		opts = append(opts, nodeset.WithDefaultSource(s.o.groupSource))
	}
	return nodeset.Parse(str, opts...)
}

// loop is interactive mode, as clush's: a prompt, "?" to show the nodes,
// "+NODES", "-NODES" and "@NODES" to change them, "=" to switch gathering,
// "!CMD" to run CMD locally, "quit" or Ctrl-D to leave. Under the name
// clush, node sets typed there are lowercased as clush does; as muster run
// they keep their case. Unlike clush,
// Ctrl-C stops only the running command and comes back to the prompt, and
// at the prompt it only clears the line. Ctrl-Z at the prompt suspends
// muster as it would a readline program. It returns the exit code of the
// last command, or 128+N when signal N (SIGTERM, SIGHUP) ended it.
func (s *session) loop(ctx context.Context, targets nodeset.NodeSet) int {
	if f, ok := s.stdio.Out.(*os.File); ok && !term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(s.errs, "ERROR: interactive mode requires a tty")
		s.errs.Flush()
		return 1
	}
	hist := loadHistory(historyPath(s.prog), s.prog != "clush")
	lr, release := newLineReader(ctx, s.stdio, hist)
	defer release()
	prompt := "muster> "
	if s.prog == "clush" {
		prompt = "clush> "
	}
	if s.o.verbosity >= verbStd {
		fmt.Fprintln(s.out, "Enter 'quit' to leave this interactive mode")
	}
	ns := targets
	info := true
	rc := 0
	for ctx.Err() == nil {
		if info {
			fmt.Fprintf(s.out, "Working with nodes: %s\n", ns)
			info = false
		}
		s.errs.Flush()
		s.out.Flush()
		line, err := lr.readLine(prompt)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errInterrupted) {
			continue
		}
		if err != nil {
			fmt.Fprintln(s.out)
			s.out.Flush()
			return rc
		}
		cmdl := strings.ToLower(line)
		// the node set after +, - or @: clush takes it lowercased; muster
		// keeps its case, as on its command line (node and group names are
		// case-sensitive there)
		nodes := line
		if s.prog == "clush" {
			nodes = cmdl
		}
		info = true
		var perr error
		switch {
		case strings.HasPrefix(cmdl, "+"):
			var add nodeset.NodeSet
			if add, perr = s.parseNodes(nodes[1:]); perr == nil {
				ns = ns.Union(add)
			}
		case strings.HasPrefix(cmdl, "-"):
			var del nodeset.NodeSet
			if del, perr = s.parseNodes(nodes[1:]); perr == nil {
				ns = ns.Difference(del)
			}
		case strings.HasPrefix(cmdl, "@"):
			var set nodeset.NodeSet
			if set, perr = s.parseNodes(nodes[1:]); perr == nil {
				ns = set
			}
		case cmdl == "=":
			info = false
			s.toggleGather()
			continue
		case !strings.HasPrefix(cmdl, "?"):
			info = false
		}
		if perr != nil {
			fmt.Fprintf(s.errs, "%s: nodeset parse error (ignoring)\n", s.prog)
		}
		if info {
			continue
		}
		switch {
		case strings.HasPrefix(cmdl, "!") && strings.TrimSpace(line) != "":
			rc = s.execute(ctx, line[1:], ns, true)
		case cmdl == "quit":
			return rc
		case line == "" || ns.IsEmpty():
		default:
			if len(s.prefix) > 0 {
				line = strings.Join(s.prefix, " ") + " " + line
			}
			rc = s.execute(ctx, line, ns, false)
		}
		if s.outputGone {
			return rc
		}
	}
	// SIGTERM or SIGHUP, at the prompt or during a command
	s.errs.Flush()
	s.out.Flush()
	return signalExit(ctx)
}

// toggleGather is "=": gathered output (-b) on or off.
func (s *session) toggleGather() {
	o := s.o
	if o.gather || o.gatherAll || o.diff {
		o.gather, o.gatherAll, o.diff = false, false, false
		if o.verbosity >= verbStd {
			fmt.Fprintln(s.out, "Switching to standard output format")
		}
		return
	}
	o.gather = true
	if o.verbosity >= verbStd {
		fmt.Fprintln(s.out, "Switching to gathered output format")
	}
}

// ttyPath is the terminal a run mode's password is asked on.
var ttyPath = "/dev/tty"

// askPass asks for a run mode's password (password_prompt) as Python's
// getpass does: on the terminal without echo, else, warning that it may be
// echoed, one line of standard input (read byte by byte, so that the rest
// of the input is still forwarded to the nodes). End of input before any
// character is an error wrapping io.ErrUnexpectedEOF, as getpass's
// EOFError, on which clush exits with 1. On the terminal, Ctrl-C (intr)
// gives up with errInterrupted, as clush does on KeyboardInterrupt, and
// the end of ctx (SIGTERM, SIGHUP) with its cause; the terminal is left
// as it was.
func askPass(ctx context.Context, intr <-chan os.Signal, stdio cli.Stdio) (string, error) {
	// opened by name, the terminal is in Go's poller: its reads can be
	// stopped with a deadline
	if tty, err := os.OpenFile(ttyPath, os.O_RDWR, 0); err == nil {
		defer tty.Close()
		fd := -1
		if rc, err := tty.SyscallConn(); err == nil {
			rc.Control(func(f uintptr) { fd = int(f) })
		}
		if fd >= 0 && term.IsTerminal(fd) {
			return readPassword(ctx, intr, tty, fd)
		}
	}
	if stdio.In == nil {
		return "", fmt.Errorf("no terminal and no standard input to read a password from: %w", io.ErrUnexpectedEOF)
	}
	io.WriteString(stdio.Err, "Warning: Password input may be echoed.\nPassword: ")
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := stdio.In.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
		}
		if err == io.EOF {
			if n == 0 && len(line) == 0 {
				// getpass raises EOFError here, and clush gives up
				return "", fmt.Errorf("no password: standard input ended before any character: %w", io.ErrUnexpectedEOF)
			}
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading a password from standard input: %w", err)
		}
	}
	return string(line), nil
}

// readPassword reads a line on the terminal tty (file descriptor fd) with
// echo off, signals on (Ctrl-C is a SIGINT, delivered on intr), and the
// terminal's own line editing; the terminal is restored afterwards.
func readPassword(ctx context.Context, intr <-chan os.Signal, tty *os.File, fd int) (string, error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", ttyPath, err)
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	noEcho.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", fmt.Errorf("reading %s: %w", ttyPath, err)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	io.WriteString(tty, "Password: ")

	// a Ctrl-C or the end of ctx stops the read below by a deadline
	var why atomic.Pointer[error]
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var err error
		select {
		case <-intr:
			err = errInterrupted
		case <-ctx.Done():
			err = context.Cause(ctx)
		case <-done:
			return
		}
		why.Store(&err)
		tty.SetReadDeadline(time.Now())
	})
	defer wg.Wait()
	defer close(done)

	var line []byte
	buf := make([]byte, 256)
	for {
		n, err := tty.Read(buf)
		line = append(line, buf[:n]...)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
			break
		}
		if w := why.Load(); w != nil {
			io.WriteString(tty, "\n")
			return "", *w
		}
		if err == io.EOF {
			if len(line) == 0 {
				io.WriteString(tty, "\n")
				return "", fmt.Errorf("no password: end of input on %s before any character: %w", ttyPath, io.ErrUnexpectedEOF)
			}
			break
		}
		if err != nil {
			io.WriteString(tty, "\n")
			return "", fmt.Errorf("reading %s: %w", ttyPath, err)
		}
	}
	io.WriteString(tty, "\n")
	return string(line), nil
}
