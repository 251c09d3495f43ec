package mesh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	sshworker "github.com/muster-sh/muster/worker/ssh"
)

// DefaultCacheDir is the remote directory that holds agent binaries by
// their sha256, when SSHOptions.CacheDir is empty.
const DefaultCacheDir = "~/.cache/muster/agents"

// SSHOptions configure a child started over ssh.
type SSHOptions struct {
	// Name names the child in errors and logs; default Host.
	Name string
	// Host is the node, resolved through the ssh client's configuration.
	Host string
	// Client is the native ssh client to connect with; nil builds one from
	// SSHArgs (and closes it with the child).
	Client *sshworker.Client
	// SSHArgs are ssh(1)-style options for the client built when Client is
	// nil, e.g. {"-F", "ssh_config", "-o", "User=x"}. They are also what a
	// child uses when it starts an ssh child of its own (Context.SSH).
	SSHArgs []string
	// CacheDir is the remote per-user directory that holds agent binaries
	// by hash; default DefaultCacheDir. A leading "~/" is the remote $HOME.
	CacheDir string
	// Env holds extra environment variables for the agent, each NAME=VALUE
	// with NAME a shell variable name ([A-Za-z_][A-Za-z0-9_]*); SSH
	// refuses any other entry before it connects.
	Env []string
	// ConnectTimeout bounds the connection, probe and handshake, and the
	// upload of each 16 MiB of binary; default 10 s.
	ConnectTimeout time.Duration
}

// self is this binary: its path, sha256 and size, computed once.
var self struct {
	once sync.Once
	path string
	hash string
	size int64
	err  error
}

func selfBinary() (path, hash string, err error) {
	self.once.Do(func() {
		self.path, self.err = os.Executable()
		if self.err != nil {
			return
		}
		f, err := os.Open(self.path)
		if err != nil {
			self.err = err
			return
		}
		defer f.Close()
		h := sha256.New()
		self.size, self.err = io.Copy(h, f)
		self.hash = hex.EncodeToString(h.Sum(nil))
	})
	return self.path, self.hash, self.err
}

// shellQuote quotes s for a POSIX shell as one word. Quotes, backslashes
// and exclamation marks are escaped with a backslash outside the single
// quotes, so the word means s to csh and fish too (fish reads \' and \\
// inside single quotes as escapes, csh expands history on ! even there); a
// newline in s is beyond csh.
func shellQuote(s string) string {
	r := strings.NewReplacer(`'`, `'\''`, `\`, `'\\'`, `!`, `'\!'`)
	return "'" + r.Replace(s) + "'"
}

// posixCommand is a remote command that runs script with sh: sshd hands a
// command to the user's login shell, which may be csh or fish.
func posixCommand(script string) string {
	return "exec sh -c " + shellQuote(script)
}

// checkEnv returns an error naming the first entry of env that is not
// NAME=VALUE with NAME a shell variable name. The remote command hands each
// entry to env(1), which would take one without "=" for the command to run.
func checkEnv(env []string) error {
	for _, e := range env {
		name, _, ok := strings.Cut(e, "=")
		if !ok || !validEnvName(name) {
			return fmt.Errorf("environment entry %q: want NAME=VALUE with NAME matching [A-Za-z_][A-Za-z0-9_]*", e)
		}
	}
	return nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// remoteDir renders a cache directory for the remote shell.
func remoteDir(dir string) string {
	if dir == "" {
		dir = DefaultCacheDir
	}
	if dir == "~" {
		return `"$HOME"`
	}
	if rest, ok := strings.CutPrefix(dir, "~/"); ok {
		return `"$HOME"/` + shellQuote(rest)
	}
	return shellQuote(dir)
}

// goPlatform maps `uname -s -m` output to GOOS and GOARCH names.
func goPlatform(uname string) (goos, goarch string, err error) {
	f := strings.Fields(uname)
	if len(f) != 2 {
		return "", "", fmt.Errorf("unexpected `uname -s -m` output %q, want an OS and a machine", uname)
	}
	goos = strings.ToLower(f[0])
	switch m := strings.ToLower(f[1]); m {
	case "x86_64", "amd64":
		goarch = "amd64"
	case "aarch64", "arm64":
		goarch = "arm64"
	case "i386", "i486", "i586", "i686", "x86":
		goarch = "386"
	case "riscv64", "ppc64le", "ppc64", "s390x", "mips64", "mips64le", "loong64":
		goarch = m
	default:
		if strings.HasPrefix(m, "armv") {
			goarch = "arm"
		} else {
			goarch = m
		}
	}
	return goos, goarch, nil
}

// checkPlatform returns an error wrapping ErrPlatform when uname names
// another OS or architecture than this binary's.
func checkPlatform(host, uname string) error {
	goos, goarch, err := goPlatform(uname)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrPlatform, host, err)
	}
	if goos != runtime.GOOS || goarch != runtime.GOARCH {
		return fmt.Errorf("%w: %s runs %s/%s (uname %q), this binary is %s/%s",
			ErrPlatform, host, goos, goarch, strings.TrimSpace(uname), runtime.GOOS, runtime.GOARCH)
	}
	return nil
}

// cacheCheck is shell code defining ck: `ck WHAT PATH` succeeds when the
// current user owns PATH and neither group nor others may write to it, and
// otherwise prints why PATH (described as WHAT) is unsafe and fails. Anyone
// else able to write to the cache could plant a binary there for us to run.
const cacheCheck = `ck() { if [ -O "$2" ]; then case $(ls -ldL -- "$2") in ?????w*|????????w*) r="writable by group or others";; *) return 0;; esac; ` +
	`else r="not owned by $(id -un)"; fi; printf '%s\n' "$1 $2 is $r; want mode 0700 owned by $(id -un)"; return 1; }; `

// uploadScript reads a binary on stdin into a temporary file in dir, checks
// its sha256, makes it executable and renames it to dir/hash. On any
// failure the temporary file is removed and nothing is left in place. A
// directory that exists already must pass the cache check (mkdir -p keeps
// its mode and owner).
func uploadScript(dir, hash string) string {
	return `set -e; umask 077; ` + cacheCheck + `d=` + dir + `; mkdir -p "$d"; ck "cache directory" "$d" >&2 || exit 4; t="$d/.upload.$$"; ` +
		`trap 'rm -f "$t"' EXIT; cat > "$t"; ` +
		`h=$( (sha256sum < "$t" 2>/dev/null || shasum -a 256 < "$t") | cut -d' ' -f1); ` +
		`if [ "$h" = ` + hash + ` ]; then :; else echo "sha256 $h, want ` + hash + `" >&2; exit 3; fi; ` +
		`chmod 700 "$t"; mv -f "$t" "$d/` + hash + `"; trap - EXIT`
}

// SSH starts a child context on o.Host: the same binary, found in the
// remote cache by its sha256 or uploaded there first, run as an agent over
// an ssh session's stdio. A node with another OS or architecture is an
// error wrapping ErrPlatform that names both.
func (r *Router) SSH(ctx context.Context, o SSHOptions) (*Context, error) {
	if o.Name == "" {
		o.Name = o.Host
	}
	fail := func(err error) (*Context, error) {
		return nil, fmt.Errorf("%w %q over ssh: %w", ErrStart, o.Name, err)
	}
	select {
	case <-r.done:
		return fail(ErrClosed)
	default:
	}
	if err := checkEnv(o.Env); err != nil {
		return fail(err)
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	path, hash, err := selfBinary()
	if err != nil {
		return fail(fmt.Errorf("hashing this binary: %w", err))
	}
	client := o.Client
	owned := false
	if client == nil {
		opts, err := sshworker.ParseOptions(o.SSHArgs)
		if err != nil {
			return fail(err)
		}
		if client, err = sshworker.New(opts); err != nil {
			return fail(err)
		}
		owned = true
	}
	closeClient := func() {
		if owned {
			_ = client.Close()
		}
	}
	c, err := r.sshStart(ctx, o, client, path, hash, closeClient)
	if err != nil {
		closeClient()
		return fail(err)
	}
	return c, nil
}

func (r *Router) sshStart(ctx context.Context, o SSHOptions, client *sshworker.Client, path, hash string, closeClient func()) (*Context, error) {
	cctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	conn, err := client.Connect(cctx, o.Host)
	if err != nil {
		return nil, err
	}
	dir := remoteDir(o.CacheDir)
	start, run := startScripts(dir, hash, o.Env)
	id, err := r.allocID(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.sshAgent(ctx, o, conn, id, posixCommand(start), closeClient)
	var ng *noGreetingError
	if err == nil || !errors.As(err, &ng) {
		return c, err
	}
	st, ok := parseStart(string(ng.output))
	if !ok {
		return nil, err
	}
	if perr := checkPlatform(o.Host, st.uname); perr != nil {
		// a cache shared with nodes of another platform holds a binary
		// this node cannot run: the platform is the error to report
		return nil, perr
	}
	if st.unsafe != "" {
		return nil, fmt.Errorf("unsafe agent cache on %s: %s", o.Host, st.unsafe)
	}
	if !st.missing {
		return nil, execHint(err, o.CacheDir) // present but failed to run: its stderr says why
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	uctx, ucancel := context.WithTimeout(ctx, o.ConnectTimeout*time.Duration(1+self.size>>24))
	_, err = runSession(uctx, conn, posixCommand(uploadScript(dir, hash)), f)
	ucancel()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("uploading the agent to %s: %w", o.Host, err)
	}
	r.log.Debug("mesh: uploaded the agent", "host", o.Host, "bytes", self.size)
	c, err = r.sshAgent(ctx, o, conn, id, posixCommand(run), closeClient)
	return c, execHint(err, o.CacheDir)
}

// execHint adds to the error of an agent start that the node refused to
// execute the cached binary (EACCES from execve, as on a noexec mount) where
// to look, and how to pick another cache directory.
func execHint(err error, dir string) error {
	if err == nil || !strings.Contains(err.Error(), ": Permission denied") {
		return err
	}
	if dir == "" {
		dir = DefaultCacheDir
	}
	return fmt.Errorf("%w (the node would not execute the agent in %s: is it on a noexec filesystem? SSHOptions.CacheDir names another directory)", err, dir)
}

// startScripts returns the sh scripts that start the agent from the cache
// dir (a shell word): start names the platform, checks the cache, then
// runs the binary if present, else says it is missing (one session when
// the binary is cached; output before the greeting is skipped); run runs
// the binary just uploaded.
func startScripts(dir, hash string, env []string) (start, run string) {
	vars := "d=" + dir + "; b=\"$d\"/" + hash + "; "
	agent := "exec env"
	for _, e := range env {
		agent += " " + shellQuote(e)
	}
	agent += " " + AgentEnv + "=1 \"$b\""
	unsafe := "|| { printf '%s %s\\n' " + unsafeMark + " \"$m\"; exit 1; }; "
	start = vars + cacheCheck + "echo; echo " + platformMark + " $(" + unameCmd + "); " +
		`if [ -e "$d" ]; then m=$(ck "cache directory" "$d") ` + unsafe +
		`if [ -x "$b" ]; then m=$(ck "cached agent" "$b") ` + unsafe + agent + "; fi; " +
		"fi; echo " + missingMark
	return start, vars + agent
}

// unameCmd names the node's OS and machine (a variable for tests).
var unameCmd = "uname -s -m"

// Marks in the output of the start command: the node's `uname -s -m`
// follows platformMark; missingMark says the agent is not in the cache;
// unsafeMark is followed by why the cache may not be used.
const (
	platformMark = "MUSTER-MESH-PLATFORM"
	missingMark  = "MUSTER-MESH-AGENT-MISSING"
	unsafeMark   = "MUSTER-MESH-CACHE-UNSAFE"
)

// startOutput is what the start command said before it ended without a
// greeting.
type startOutput struct {
	uname   string // the node's `uname -s -m`
	unsafe  string // why the cache may not be used, if it may not
	missing bool   // the agent is not in the cache
}

// parseStart reads the output of the start command from its last platform
// line on; ok is false without one. The missing and unsafe marks count only
// as lines of their own after it.
func parseStart(out string) (st startOutput, ok bool) {
	i := strings.LastIndex(out, platformMark+" ")
	if i < 0 || i > 0 && out[i-1] != '\n' {
		return st, false
	}
	lines := strings.Split(out[i+len(platformMark)+1:], "\n")
	st.uname = strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		l = strings.TrimSuffix(l, "\r")
		if msg, ok := strings.CutPrefix(l, unsafeMark+" "); ok && st.unsafe == "" {
			st.unsafe = strings.TrimSpace(msg)
		}
		st.missing = st.missing || l == missingMark
	}
	return st, true
}

// sshAgent runs cmd, which should exec the agent, in a new session and
// handshakes with it over the session's stdio.
func (r *Router) sshAgent(ctx context.Context, o SSHOptions, conn *ssh.Client, id ID, cmd string, closeClient func()) (*Context, error) {
	sess, err := conn.NewSession()
	if err != nil {
		return nil, fmt.Errorf("opening a session on %s: %w", o.Host, err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	tail := r.childStderr(o.Name)
	sess.Stderr = tail
	if err := sess.Start(cmd); err != nil {
		sess.Close()
		return nil, fmt.Errorf("starting the agent on %s: %w", o.Host, err)
	}
	kill := func() {
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = stdin.Close()
			t := time.AfterFunc(r.cfg.ShutdownGrace, kill)
			_ = sess.Wait()
			t.Stop()
			_ = sess.Close()
			closeClient()
		})
	}
	br, err := r.handshake(ctx, id, o.Name, stdout, stdin, o.ConnectTimeout, kill)
	if err != nil {
		kill()
		_ = sess.Wait()
		if s := tail.String(); s != "" {
			err = fmt.Errorf("%w; stderr: %s", err, s)
		}
		return nil, err
	}
	return r.attachChild(id, o.Name, br, stdin, stop, kill, tail)
}

// runSession runs cmd in a new session with stdin, returning its stdout;
// a failure carries its stderr.
func runSession(ctx context.Context, conn *ssh.Client, cmd string, stdin io.Reader) (string, error) {
	sess, err := conn.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &out, &errb, stdin
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() })
	defer stop()
	err = sess.Run(cmd)
	if ctx.Err() != nil {
		return "", fmt.Errorf("%w (stderr: %q)", ctx.Err(), strings.TrimSpace(errb.String()))
	}
	if err != nil {
		return "", fmt.Errorf("%w (stderr: %q)", err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
