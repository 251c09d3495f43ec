// Package testhosts starts real OpenSSH sshd daemons on loopback addresses,
// so that tests of muster's ssh paths talk to the real thing.
//
// Each host gets its own 127.0.0.x address and a free port, its own host key,
// and one sshd process started with its own sshd_config and pid file. The
// cluster shares one user key (authorized on every host), an ssh_config that
// names the hosts ("node1" ... "nodeN") with their address, port and key, and
// a known_hosts file holding every host key. Nothing is ever killed by name:
// Stop signals the process ids this package started.
//
// Sessions do not run the login user's shell start-up files. bash, started
// by sshd to run a command, reads ~/.bashrc when it believes it is the top
// shell (SHLVL below 2 once it has counted itself); every host's sshd sets
// SHLVL=1 in its sessions (sshd_config SetEnv), so the remote shell sees 2
// and skips it. On a workstation whose ~/.bashrc starts slow tools (pyenv
// init, measured at about 130 ms of CPU per shell here, with contention on
// its shims lock when many shells start at once) that cost would otherwise
// be the same for every client and dominate what tests and benchmarks
// measure; it says nothing about the ssh client. The fixture also avoids
// other per-connection server costs that do not concern a client: UseDNS
// no (no reverse lookup of 127.0.0.x), UsePAM no, no motd or last-login.
//
// Tests call StartT, which skips the test when sshd is missing unless the
// CI environment variable is set, in which case the test fails instead.
package testhosts

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoSSHD reports that no OpenSSH server binary was found.
var ErrNoSSHD = errors.New("testhosts: sshd not found (install Debian's openssh-server)")

// Options configure a cluster of test hosts. The zero value is usable.
type Options struct {
	// Prefix is the host name prefix in ssh_config; hosts are Prefix1..PrefixN.
	// Default "node".
	Prefix string
	// FirstAddr is the last octet of the first host's 127.0.0.x address;
	// host i (from 0) listens on 127.0.0.(FirstAddr+i). Default 11.
	FirstAddr int
	// Dir holds every generated file; default a new temporary directory that
	// Stop removes.
	Dir string
	// ExtraConfig is appended to every sshd_config (for example "MaxStartups 200").
	ExtraConfig string
	// SFTPInHostDir starts every SFTP session (and so OpenSSH's scp, which
	// speaks SFTP) in the host's own directory, Host.Dir, instead of the
	// login user's home: a relative copy destination then lands in a
	// different directory on each host, as it would on separate machines.
	SFTPInHostDir bool
}

// Host is one running sshd.
type Host struct {
	Name    string // name in the cluster's ssh_config, e.g. "node3"
	Addr    string // loopback IP address, e.g. "127.0.0.13"
	Port    int
	HostKey string // path of the private host key; HostKey+".pub" is the public one
	PIDFile string
	Config  string // path of this host's sshd_config
	Log     string // sshd's log file
	Dir     string // the host's own directory, holding the files above

	authorized, extra string // sshd_config inputs
	sftpArgs          string // arguments of internal-sftp
	pubType, pubKey   string // the public host key, for known_hosts

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// marker is the value of markerVar in this host's sessions.
func (h *Host) marker() string { return filepath.Dir(h.Config) }

// Cluster is a set of running test hosts and the client files to reach them.
type Cluster struct {
	Dir        string
	User       string // login name that every host accepts
	UserKey    string // private key authorized on every host
	SSHConfig  string // ssh_config naming every host
	KnownHosts string // known_hosts with every host key
	Hosts      []*Host

	ownDir bool
}

// SSHD returns the path of the sshd binary, or ErrNoSSHD.
func SSHD() (string, error) {
	if p, err := exec.LookPath("sshd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNoSSHD
}

// TB is the part of testing.TB that StartT uses.
type TB interface {
	Helper()
	Skip(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// StartT starts n hosts for a test and stops them when the test ends. When
// sshd is missing it skips the test, or fails it when the CI environment
// variable is set (tests must not silently skip in CI).
func StartT(t TB, n int, opts Options) *Cluster {
	t.Helper()
	_, err := SSHD()
	if err == nil {
		if _, kerr := exec.LookPath("ssh-keygen"); kerr != nil {
			err = fmt.Errorf("testhosts: ssh-keygen not found (install Debian's openssh-client): %w", kerr)
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v; CI must provide it", err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Start(ctx, n, opts)
	if err != nil {
		t.Fatalf("testhosts: %v", err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// Start generates keys and configuration and starts n sshd daemons. It
// returns once every host answers with an SSH banner, or an error (having
// stopped whatever it started) when ctx ends first or a daemon fails.
func Start(ctx context.Context, n int, opts Options) (c *Cluster, err error) {
	if n < 1 || n > 240 {
		return nil, fmt.Errorf("testhosts: %d hosts requested, expected 1 to 240", n)
	}
	if opts.Prefix == "" {
		opts.Prefix = "node"
	}
	if opts.FirstAddr == 0 {
		opts.FirstAddr = 11
	}
	if opts.FirstAddr < 2 || opts.FirstAddr+n-1 > 254 {
		return nil, fmt.Errorf("testhosts: addresses 127.0.0.%d to 127.0.0.%d out of range, expected within 127.0.0.2-254", opts.FirstAddr, opts.FirstAddr+n-1)
	}
	sshd, err := SSHD()
	if err != nil {
		return nil, err
	}
	c = &Cluster{Dir: opts.Dir}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "muster-testhosts-"); err != nil {
			return nil, err
		}
		c.ownDir = true
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("testhosts: current user: %w", err)
	}
	c.User = u.Username
	if os.Geteuid() == 0 {
		// sshd refuses to start as root without its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("testhosts: %w", err)
		}
	}
	c.UserKey = filepath.Join(c.Dir, "id_ed25519")
	if err := keygen(ctx, c.UserKey, "muster-test-user"); err != nil {
		return nil, err
	}
	authorized := filepath.Join(c.Dir, "authorized_keys")
	if err := copyFile(c.UserKey+".pub", authorized, 0o600); err != nil {
		return nil, err
	}
	c.KnownHosts = filepath.Join(c.Dir, "known_hosts")
	c.SSHConfig = filepath.Join(c.Dir, "ssh_config")
	for i := range n {
		h := &Host{
			Name: fmt.Sprintf("%s%d", opts.Prefix, i+1),
			Addr: fmt.Sprintf("127.0.0.%d", opts.FirstAddr+i),
		}
		hdir := filepath.Join(c.Dir, h.Name)
		h.Dir = hdir
		if err := os.MkdirAll(hdir, 0o700); err != nil {
			return nil, err
		}
		h.HostKey = filepath.Join(hdir, "ssh_host_ed25519_key")
		if err := keygen(ctx, h.HostKey, h.Name); err != nil {
			return nil, err
		}
		h.PIDFile = filepath.Join(hdir, "sshd.pid")
		h.Log = filepath.Join(hdir, "sshd.log")
		h.Config = filepath.Join(hdir, "sshd_config")
		h.authorized, h.extra = authorized, opts.ExtraConfig
		if opts.SFTPInHostDir {
			h.sftpArgs = " -d " + hdir
		}
		pub, err := os.ReadFile(h.HostKey + ".pub")
		if err != nil {
			return nil, err
		}
		fields := strings.Fields(string(pub))
		if len(fields) < 2 {
			return nil, fmt.Errorf("testhosts: malformed public key %s", h.HostKey+".pub")
		}
		h.pubType, h.pubKey = fields[0], fields[1]
		c.Hosts = append(c.Hosts, h)
	}
	for _, h := range c.Hosts {
		if err := h.launch(ctx, sshd); err != nil {
			return nil, err
		}
	}
	for _, h := range c.Hosts {
		if err := h.waitUp(ctx, sshd); err != nil {
			return nil, err
		}
	}
	// The client files name the ports, which are known for sure only now.
	var known, cfg strings.Builder
	for _, h := range c.Hosts {
		fmt.Fprintf(&known, "[%s]:%d %s %s\n", h.Addr, h.Port, h.pubType, h.pubKey)
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n  Port %d\n", h.Name, h.Addr, h.Port)
	}
	fmt.Fprintf(&cfg, "Host *\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n"+
		"  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 10\n  LogLevel ERROR\n",
		c.User, c.UserKey, c.KnownHosts)
	if err := os.WriteFile(c.KnownHosts, []byte(known.String()), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.SSHConfig, []byte(cfg.String()), 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// markerVar is set in the environment of every session of a test host
// (sshd's SetEnv), with the host's directory as its value: the processes of
// a host's sessions, including those that outlive their session, are found
// by it when the host stops.
const markerVar = "MUSTER_TESTHOST"

func sshdConfig(h *Host) string {
	return fmt.Sprintf(`ListenAddress %s:%d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp%s
MaxStartups 100:30:200
MaxSessions 100
LogLevel INFO
SetEnv %s=%s SHLVL=1
%s
`, h.Addr, h.Port, h.HostKey, h.PIDFile, h.authorized, h.sftpArgs, markerVar, h.marker(), h.extra)
}

// HostPort returns "ip:port" of the host, for clients that dial directly.
func (h *Host) HostPort() string { return net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)) }

// launch picks a free port, writes the host's sshd_config and starts sshd.
func (h *Host) launch(ctx context.Context, sshd string) error {
	port, err := freePort(h.Addr)
	if err != nil {
		return err
	}
	h.Port = port
	if err := os.WriteFile(h.Config, []byte(sshdConfig(h)), 0o600); err != nil {
		return err
	}
	_ = os.Remove(h.Log)
	return h.start(ctx, sshd)
}

// waitUp waits for the host's banner. The port was free when picked but
// another process may have taken it before sshd bound it: then the host is
// started again on another port, a few times.
func (h *Host) waitUp(ctx context.Context, sshd string) error {
	for attempt := 1; ; attempt++ {
		err := h.waitReady(ctx)
		if err == nil || attempt == 5 || !strings.Contains(tail(h.Log), "Address already in use") {
			return err
		}
		if err := h.launch(ctx, sshd); err != nil {
			return err
		}
	}
}

func (h *Host) start(ctx context.Context, sshd string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	// -D: stay in the foreground so that the process we wait on is the daemon.
	cmd := exec.Command(sshd, "-D", "-f", h.Config, "-E", h.Log)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testhosts: start sshd for %s: %w", h.Name, err)
	}
	h.cmd = cmd
	h.done = make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(h.done)
	return nil
}

func (h *Host) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; ; attempt++ {
		select {
		case <-h.done:
			return fmt.Errorf("testhosts: sshd for %s (%s) exited: %s", h.Name, h.HostPort(), tail(h.Log))
		default:
		}
		if bannerOK(h.HostPort()) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("testhosts: sshd for %s (%s) did not answer in time: %s", h.Name, h.HostPort(), tail(h.Log))
		}
		time.Sleep(time.Duration(min(attempt+1, 20)) * 5 * time.Millisecond)
	}
}

func bannerOK(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// Running reports whether the host's sshd process is alive.
func (h *Host) Running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		return false
	}
	select {
	case <-h.done:
		return false
	default:
		return true
	}
}

// PID returns the process id of the host's sshd, or 0 when not started.
func (h *Host) PID() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil || h.cmd.Process == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

// Stop terminates the host's sshd and every process it started (the
// per-connection children call setsid, so they are found as descendants of
// the daemon's pid, never by name), and waits for the daemon to exit. A
// stopped host refuses new connections and established ones are closed.
// Stop is idempotent.
func (h *Host) Stop() {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	pid := cmd.Process.Pid
	// Stop the daemon first so that it starts no new children, then the
	// connections it had already forked.
	kids := descendants(pid)
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGTERM)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
	// sshd does not end a session's processes when its client goes away, and
	// those that outlived their session are no longer below the daemon.
	for _, p := range marked(markerVar + "=" + h.marker()) {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// marked returns the pids of the processes whose environment holds entry
// (Linux /proc; processes of other users are not readable and not ours).
func marked(entry string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for kv := range strings.SplitSeq(string(env), "\x00") {
			if kv == entry {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// descendants returns the pids of every live process below pid, read from
// /proc (Linux).
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces: the
		// fields we need follow the last ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// Stop stops every host and removes the cluster's directory if Start made it.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, h := range c.Hosts {
		wg.Add(1)
		go func() { defer wg.Done(); h.Stop() }()
	}
	wg.Wait()
	if c.ownDir && c.Dir != "" {
		_ = os.RemoveAll(c.Dir)
	}
}

// SSHArgs returns the arguments that make the ssh client use the cluster's
// configuration, to be followed by a host name and a command.
func (c *Cluster) SSHArgs() []string { return []string{"-F", c.SSHConfig} }

// Names returns the host names in order.
func (c *Cluster) Names() []string {
	out := make([]string, len(c.Hosts))
	for i, h := range c.Hosts {
		out[i] = h.Name
	}
	return out
}

func keygen(ctx context.Context, path, comment string) error {
	out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testhosts: ssh-keygen %s: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("testhosts: no free port on %s: %w", addr, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	if s == "" {
		return "(empty log)"
	}
	return s
}
