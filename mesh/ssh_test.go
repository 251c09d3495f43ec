package mesh

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/testhosts"
	sshworker "github.com/muster-sh/muster/worker/ssh"
)

// sshOpts returns options to reach host in cl with the agent cache in dir.
func sshOpts(cl *testhosts.Cluster, host, dir string) SSHOptions {
	return SSHOptions{
		Host:     host,
		SSHArgs:  append(cl.SSHArgs(), "-o", "IdentityAgent=none"),
		CacheDir: dir,
		Env:      []string{"GORACE=atexit_sleep_ms=0 halt_on_error=1"},
	}
}

// An ssh child: the binary is uploaded into the cache once, verified, and
// found there the next time; calls work; shutdown ends the remote agent.
func TestSSHChild(t *testing.T) {
	cl := testhosts.StartT(t, 1, testhosts.Options{FirstAddr: 71})
	r := newRoot(t)
	ctx := testCtx(t)
	dir := t.TempDir()
	c, err := r.SSH(ctx, sshOpts(cl, "node1", dir))
	if err != nil {
		t.Fatal(err)
	}
	_, hash, err := selfBinary()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, hash))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cached agent: %v %v, want mode 0700", fi, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("cache holds %d entries, want only the agent", len(ents))
	}
	var s string
	if err := c.Call(ctx, "test.echo", "over ssh", &s); err != nil || s != "over ssh" {
		t.Fatalf("call: %q %v", s, err)
	}
	pid := callPID(t, c)
	// a second child finds the cached binary: it is not rewritten
	c2, err := r.SSH(ctx, sshOpts(cl, "node1", dir))
	if err != nil {
		t.Fatal(err)
	}
	fi2, err := os.Stat(filepath.Join(dir, hash))
	if err != nil || !os.SameFile(fi, fi2) || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Fatalf("cached agent replaced on the second start")
	}
	if err := c2.Call(ctx, "test.nothing", struct{}{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitExited(t, pid)
}

// parent -> ssh child -> its ssh child, and a local child below that:
// calls and streams routed both ways; the ssh grandchild killed mid-call.
func TestSSHTwoLevelTree(t *testing.T) {
	cl := testhosts.StartT(t, 2, testhosts.Options{FirstAddr: 73})
	r := newRoot(t)
	ctx := testCtx(t)
	dir := t.TempDir()
	a, err := r.SSH(ctx, sshOpts(cl, "node1", dir))
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.SSH(ctx, sshOpts(cl, "node2", dir))
	if err != nil {
		t.Fatal(err)
	}
	rc := r.NewReceiver(1)
	defer rc.Close()
	// up checks c's chain of parents is want, and that c's message reaches
	// the root.
	up := func(c *Context, want []ID, msg string) {
		t.Helper()
		var chain []ID
		if err := c.Call(ctx, "test.parents", struct{}{}, &chain); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(chain, want) {
			t.Fatalf("%s's chain %v, want %v", c.Name(), chain, want)
		}
		if err := c.Call(ctx, "test.sendto", struct {
			To  SenderRef
			Msg string
		}{rc.Sender(), msg}, nil); err != nil {
			t.Fatal(err)
		}
		if got := recvString(t, rc); got != msg {
			t.Fatalf("got %q, want %q", got, msg)
		}
	}
	up(b, []ID{b.ID(), a.ID(), 0}, "up two ssh links")
	// a local child of the ssh grandchild, three links down
	c, err := b.Local(ctx, LocalOptions{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	up(c, []ID{c.ID(), b.ID(), a.ID(), 0}, "up a pipe and two ssh links")
	// the ssh grandchild is killed mid-call: the caller gets an error
	p := b.CallAsync(ctx, "test.sleep", time.Hour)
	pb := callPID(t, b)
	pa := callPID(t, a)
	pc := callPID(t, c)
	if err := syscall.Kill(pb, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ce *ChannelError
	if err := p.Wait(ctx, nil); !errors.As(err, &ce) {
		t.Fatalf("call to killed ssh grandchild: %v, want a *ChannelError", err)
	}
	// the ssh child is still there, the same process
	if got := callPID(t, a); got != pa {
		t.Fatalf("the ssh child is pid %d after its child was killed, was %d", got, pa)
	}
	// b's own child, whose parent link closed, exits: no orphan
	waitExited(t, pc)
	if err := c.Call(ctx, "test.nothing", struct{}{}, nil); err == nil {
		t.Fatal("a call to the child of a killed context succeeded")
	}
}

// An ssh child whose parent is killed exits (sshd ends its session).
func TestSSHParentKilled(t *testing.T) {
	cl := testhosts.StartT(t, 2, testhosts.Options{FirstAddr: 76})
	r := newRoot(t)
	ctx := testCtx(t)
	dir := t.TempDir()
	a := localChild(t, r, "a")
	b, err := a.SSH(ctx, sshOpts(cl, "node1", dir))
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.SSH(ctx, sshOpts(cl, "node2", dir))
	if err != nil {
		t.Fatal(err)
	}
	pa, pb, pc := callPID(t, a), callPID(t, b), callPID(t, c)
	if err := syscall.Kill(pa, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExited(t, pb)
	waitExited(t, pc)
}

// A caller's own pooled client: children share its connection, and it
// stays open when they end.
func TestSSHWithClient(t *testing.T) {
	cl := testhosts.StartT(t, 1, testhosts.Options{FirstAddr: 81})
	r := newRoot(t)
	ctx := testCtx(t)
	opts, err := sshworker.ParseOptions(append(cl.SSHArgs(), "-o", "IdentityAgent=none"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := sshworker.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	o := sshOpts(cl, "node1", t.TempDir())
	o.Client, o.SSHArgs = client, nil
	for i := range 2 {
		c, err := r.SSH(ctx, o)
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		if err := c.Call(ctx, "test.nothing", struct{}{}, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSSHStartErrors(t *testing.T) {
	cl := testhosts.StartT(t, 1, testhosts.Options{FirstAddr: 79})
	r := newRoot(t)
	ctx := testCtx(t)
	o := sshOpts(cl, "nosuchnode.invalid", t.TempDir())
	o.ConnectTimeout = 5 * time.Second
	if _, err := r.SSH(ctx, o); !errors.Is(err, ErrStart) {
		t.Fatalf("unknown host: %v, want ErrStart", err)
	}
	// a cached binary that does not run: its stderr is in the error, and
	// nothing is uploaded over it
	dir := t.TempDir()
	_, hash, err := selfBinary()
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, hash)
	if err := os.WriteFile(bad, []byte("#!/bin/sh\necho cannot run here >&2\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SSH(ctx, sshOpts(cl, "node1", dir)); !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "cannot run here") {
		t.Fatalf("broken cached agent: %v", err)
	}
	if b, _ := os.ReadFile(bad); !strings.Contains(string(b), "cannot run here") {
		t.Fatalf("the cached file was replaced")
	}
	// a cache directory that cannot be created: the upload fails and says so
	o = sshOpts(cl, "node1", "/proc/mesh-cannot-write")
	if _, err := r.SSH(ctx, o); !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "uploading") {
		t.Fatalf("unwritable cache: %v", err)
	}
}

// A node of another platform: a clear error naming both, nothing uploaded.
func TestSSHPlatformMismatch(t *testing.T) {
	cl := testhosts.StartT(t, 1, testhosts.Options{FirstAddr: 83})
	r := newRoot(t)
	defer func(old string) { unameCmd = old }(unameCmd)
	unameCmd = "echo Plan9 mips"
	dir := t.TempDir()
	_, err := r.SSH(testCtx(t), sshOpts(cl, "node1", dir))
	if !errors.Is(err, ErrPlatform) || !strings.Contains(err.Error(), "plan9/mips") || !strings.Contains(err.Error(), runtime.GOOS+"/"+runtime.GOARCH) {
		t.Fatalf("err %v, want ErrPlatform naming plan9/mips and %s/%s", err, runtime.GOOS, runtime.GOARCH)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("cache holds %v after a platform mismatch", ents)
	}
}

func TestCheckPlatform(t *testing.T) {
	if err := checkPlatform("h", "Linux x86_64\n"); (runtime.GOOS == "linux" && runtime.GOARCH == "amd64") != (err == nil) {
		t.Fatalf("Linux x86_64: %v", err)
	}
	err := checkPlatform("mac1", "Darwin arm64")
	if runtime.GOOS != "darwin" || runtime.GOARCH != "arm64" {
		if !errors.Is(err, ErrPlatform) || !strings.Contains(err.Error(), "darwin/arm64") ||
			!strings.Contains(err.Error(), runtime.GOOS+"/"+runtime.GOARCH) || !strings.Contains(err.Error(), "mac1") {
			t.Fatalf("Darwin arm64: %v, want ErrPlatform naming both platforms and the host", err)
		}
	}
	if err := checkPlatform("h", "garbage"); !errors.Is(err, ErrPlatform) {
		t.Fatalf("garbage: %v", err)
	}
	for in, want := range map[string]string{"Linux aarch64": "linux/arm64", "Linux armv7l": "linux/arm", "FreeBSD amd64": "freebsd/amd64", "Linux i686": "linux/386"} {
		goos, goarch, err := goPlatform(in)
		if err != nil || goos+"/"+goarch != want {
			t.Errorf("goPlatform(%q) = %s/%s %v, want %s", in, goos, goarch, err, want)
		}
	}
}

// The upload script leaves nothing in place when the hash is wrong, and
// installs the file when it is right.
func TestUploadScript(t *testing.T) {
	dir := t.TempDir()
	data := "agent bytes\n"
	good := "8f2d39d2c5d1dd0e2b1b2a0c7e2c8c2c3b6a2d0e8e0e2f5b7f1c9e1a3d9b0c1a" // not the hash
	run := func(hash string) error {
		cmd := exec.Command("/bin/sh", "-c", uploadScript(shellQuote(dir), hash))
		cmd.Stdin = strings.NewReader(data)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(err.Error() + ": " + string(out))
		}
		return nil
	}
	if err := run(good); err == nil || !strings.Contains(err.Error(), "want "+good) {
		t.Fatalf("wrong hash: %v, want a mismatch", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("after a mismatch the cache holds %v", ents)
	}
	out, err := exec.Command("/bin/sh", "-c", "printf 'agent bytes\\n' | sha256sum | cut -d' ' -f1").Output()
	if err != nil {
		t.Fatal("sha256sum:", err)
	}
	h := strings.TrimSpace(string(out))
	if err := run(h); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, h))
	if err != nil || string(b) != data {
		t.Fatalf("installed %q %v", b, err)
	}
}
