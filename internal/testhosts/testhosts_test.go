package testhosts

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSSHToEightHosts runs the real ssh client against eight hosts at once
// and checks that each command ran on the daemon at the address it names.
func TestSSHToEightHosts(t *testing.T) {
	needSSH(t)
	c := StartT(t, 8, Options{})
	if len(c.Hosts) != 8 {
		t.Fatalf("got %d hosts, want 8", len(c.Hosts))
	}
	seen := map[string]bool{}
	for _, h := range c.Hosts {
		if seen[h.Addr] {
			t.Fatalf("address %s used twice", h.Addr)
		}
		seen[h.Addr] = true
	}
	type result struct {
		out string
		err error
	}
	results := make([]result, len(c.Hosts))
	var wg sync.WaitGroup
	for i, h := range c.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := append(c.SSHArgs(), h.Name, `echo "$SSH_CONNECTION"; echo out-`+h.Name+`; echo err-`+h.Name+` >&2; exit 7`)
			cmd := exec.CommandContext(ctx, "ssh", args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == 7 && strings.TrimSpace(stderr.String()) == "err-"+h.Name {
				err = nil
			} else if err == nil {
				err = errors.New("exit status 0, want 7")
			} else {
				err = errors.New(err.Error() + ": " + stderr.String())
			}
			results[i] = result{string(out), err}
		}()
	}
	wg.Wait()
	for i, h := range c.Hosts {
		r := results[i]
		if r.err != nil {
			t.Errorf("%s: %v", h.Name, r.err)
			continue
		}
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		if len(lines) != 2 {
			t.Errorf("%s: output %q, want 2 lines", h.Name, r.out)
			continue
		}
		// SSH_CONNECTION is "client_ip client_port server_ip server_port".
		f := strings.Fields(lines[0])
		if len(f) != 4 || f[2] != h.Addr || f[3] != strconv.Itoa(h.Port) {
			t.Errorf("%s: SSH_CONNECTION %q, want server %s %d", h.Name, lines[0], h.Addr, h.Port)
		}
		if lines[1] != "out-"+h.Name {
			t.Errorf("%s: second line %q", h.Name, lines[1])
		}
	}
}

// TestHostKeysChecked shows the known_hosts file is what lets the client in:
// with an empty one and strict checking, ssh refuses the host.
func TestHostKeysChecked(t *testing.T) {
	needSSH(t)
	c := StartT(t, 1, Options{FirstAddr: 40})
	empty := c.Dir + "/empty_known_hosts"
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(c.SSHArgs(), "-o", "UserKnownHostsFile="+empty, c.Hosts[0].Name, "true")
	out, err := exec.Command("ssh", args...).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 255 {
		t.Fatalf("ssh with an empty known_hosts: err %v, output %q; want exit 255", err, out)
	}
	if !strings.Contains(string(out), "Host key verification failed") {
		t.Fatalf("ssh output %q does not name the host key failure", out)
	}
}

// TestStopRefusesAndCleansUp checks that a stopped host refuses connections,
// its process is gone, and the cluster directory is removed.
func TestStopRefusesAndCleansUp(t *testing.T) {
	if _, err := SSHD(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	needSSH(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, 2, Options{FirstAddr: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	h := c.Hosts[0]
	// A process that outlives its session (sshd leaves it running) must end
	// with its host too.
	orphan, err := exec.Command("ssh", append(c.SSHArgs(), h.Name, "sleep 300 </dev/null >/dev/null 2>&1 & echo $!")...).Output()
	if err != nil {
		t.Fatalf("starting a background process on %s: %v", h.Name, err)
	}
	orphanPID, err := strconv.Atoi(strings.TrimSpace(string(orphan)))
	if err != nil || !alive(orphanPID) {
		t.Fatalf("background process %q not running after its session ended (%v)", orphan, err)
	}
	// An established session must end with its host, as on a machine that goes down.
	args := append(c.SSHArgs(), h.Name, "echo up; sleep 120")
	sess := exec.Command("ssh", args...)
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Process.Kill(); _ = sess.Wait() })
	line := make([]byte, 3)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "up\n" {
		t.Fatalf("session did not start: %q %v", line, err)
	}
	pid := h.PID()
	if pid == 0 || !h.Running() {
		t.Fatal("host not running after Start")
	}
	h.Stop()
	if h.Running() {
		t.Fatal("host still running after Stop")
	}
	if alive(pid) {
		t.Fatalf("sshd process %d still running after Stop", pid)
	}
	if conn, err := net.DialTimeout("tcp", h.HostPort(), 2*time.Second); err == nil {
		conn.Close()
		t.Fatalf("stopped host %s still accepts connections", h.HostPort())
	}
	// SIGKILL is delivered asynchronously; give the kernel a bounded moment.
	for i := 0; i < 100 && alive(orphanPID); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(orphanPID) {
		t.Fatalf("process %d started in a session of %s survived Stop", orphanPID, h.Name)
	}
	if err := sess.Wait(); err == nil {
		t.Fatal("a session to a stopped host ended with exit status 0, want a dropped connection")
	}
	if !c.Hosts[1].Running() {
		t.Fatal("stopping one host stopped another")
	}
	c.Stop()
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Fatalf("cluster dir %s not removed: %v", c.Dir, err)
	}
}

func TestStartRejectsBadCounts(t *testing.T) {
	for _, n := range []int{0, -1, 241} {
		if _, err := Start(context.Background(), n, Options{}); err == nil {
			t.Errorf("Start(%d) succeeded, want an error", n)
		}
	}
	if _, err := Start(context.Background(), 10, Options{FirstAddr: 250}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("Start past 127.0.0.254: err %v, want out of range", err)
	}
}

// needSSH skips (outside CI) or fails (in CI) a test that runs the ssh client.
func needSSH(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ssh client not found (Debian's openssh-client); CI must provide it: %v", err)
		}
		t.Skip("ssh client not found:", err)
	}
}

// alive reports whether pid is a running process (a zombie is not: it has
// ended and only waits for its parent to reap it).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// TestSessionsSkipShellRC checks that a session's shell counts itself below
// the SHLVL=1 set by the host's sshd, so that bash does not read the login
// user's ~/.bashrc (it does only when SHLVL is below 2 once counted).
func TestSessionsSkipShellRC(t *testing.T) {
	needSSH(t)
	c := StartT(t, 1, Options{FirstAddr: 61})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", append(c.SSHArgs(), c.Hosts[0].Name, `echo "$0" "$SHLVL"`)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh: %v: %s", err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("output %q, want the shell and SHLVL", out)
	}
	want := "1" // shells other than bash leave SHLVL alone
	if strings.HasSuffix(f[0], "bash") {
		want = "2" // bash counted itself: 2 means no ~/.bashrc
	}
	if f[1] != want {
		t.Errorf("shell %s sees SHLVL=%s, want %s", f[0], f[1], want)
	}
}

// TestSFTPInHostDir copies a file to a relative path on two hosts with scp
// (which speaks SFTP) and finds each copy in its own host's directory.
func TestSFTPInHostDir(t *testing.T) {
	needSSH(t)
	c := StartT(t, 2, Options{FirstAddr: 63, SFTPInHostDir: true})
	src := t.TempDir() + "/payload"
	if err := os.WriteFile(src, []byte("payload\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, h := range c.Hosts {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, "scp", "-q", "-s", "-F", c.SSHConfig, src, h.Name+":copied").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("scp to %s: %v: %s", h.Name, err, out)
		}
	}
	for _, h := range c.Hosts {
		b, err := os.ReadFile(h.Dir + "/copied")
		if err != nil || string(b) != "payload\n" {
			t.Errorf("%s: %s/copied: %q, %v; want the payload", h.Name, h.Dir, b, err)
		}
	}
}
