package mesh

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/testhosts"
)

// A malformed Env entry is refused, naming the entry and the expected
// form, before any connection is made.
func TestSSHBadEnv(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	r := newRoot(t)
	ctx := testCtx(t)
	for _, bad := range []string{"1BAD=x", "NOEQUALS", "=x", "A-B=1", "A B=1"} {
		o := SSHOptions{
			Host:     "127.0.0.1",
			SSHArgs:  []string{"-F", "/dev/null", "-p", port, "-o", "IdentityAgent=none"},
			CacheDir: t.TempDir(),
			Env:      []string{"GOOD_1=ok", bad},
		}
		_, err := r.SSH(ctx, o)
		if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), strconv.Quote(bad)) || !strings.Contains(err.Error(), "NAME=VALUE") {
			t.Errorf("Env %q: %v, want ErrStart naming the entry and NAME=VALUE", bad, err)
		}
	}
	// nothing connected: a connection made during SSH would be queued on
	// the listener already, so Accept returns it at once
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(200 * time.Millisecond))
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Fatal("SSH connected despite a bad Env entry")
	}
	if err := checkEnv([]string{"A=", "_x9=a=b", "Z=\n'\\"}); err != nil {
		t.Fatalf("valid entries refused: %v", err)
	}
}

// A cache that someone else could write to is refused with an error naming
// the path and what is wrong: a binary planted there is not run, and
// nothing is uploaded into it.
func TestSSHUnsafeCache(t *testing.T) {
	cl, r, hash := cacheFixture(t, 85)
	ctx := testCtx(t)
	// plant makes dir/hash a script that leaves a marker file when run
	plant := func(dir string, mode os.FileMode) (bin, marker string) {
		marker = filepath.Join(t.TempDir(), "ran")
		bin = filepath.Join(dir, hash)
		if err := os.WriteFile(bin, []byte("#!/bin/sh\ntouch "+shellQuote(marker)+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(bin, mode); err != nil {
			t.Fatal(err)
		}
		return bin, marker
	}
	chmod := func(dir string, mode os.FileMode) {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(cache, what, path, why string) {
		t.Helper()
		_, err := r.SSH(ctx, sshOpts(cl, "node1", cache))
		if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), what+" "+path+" is "+why) ||
			!strings.Contains(err.Error(), "want mode 0700") {
			t.Fatalf("%s %s: %v, want ErrStart saying it is %s", what, path, err, why)
		}
	}
	noMarker := func(marker string) {
		t.Helper()
		if _, err := os.Stat(marker); err == nil {
			t.Fatal("the binary in an unsafe cache was run")
		}
	}

	// a world-writable directory holding a binary: not run
	dir := t.TempDir()
	_, marker := plant(dir, 0o700)
	chmod(dir, 0o777)
	refused(dir, "cache directory", dir, "writable by group or others")
	noMarker(marker)

	// a group-writable binary in a safe directory: not run
	dir = t.TempDir()
	bin, marker := plant(dir, 0o720)
	refused(dir, "cached agent", bin, "writable by group or others")
	noMarker(marker)

	// a group-writable, empty directory: nothing uploaded into it
	dir = t.TempDir()
	chmod(dir, 0o770)
	refused(dir, "cache directory", dir, "writable by group or others")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("unsafe cache holds %v", ents)
	}

	// a directory owned by another user: not run
	if os.Geteuid() == 0 {
		dir = t.TempDir()
		_, marker = plant(dir, 0o700)
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		refused(dir, "cache directory", dir, "not owned by")
		noMarker(marker)
	}

	// and a safe cache with the same planted binary does run it: the
	// refusals above are the check, not a broken script
	dir = t.TempDir()
	_, marker = plant(dir, 0o700)
	if _, err := r.SSH(ctx, sshOpts(cl, "node1", dir)); !errors.Is(err, ErrStart) {
		t.Fatalf("planted script in a safe cache: %v, want ErrStart (no greeting)", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the planted script did not run from a safe cache: %v", err)
	}
}

// The upload script refuses a cache directory that exists with a mode
// letting others write to it, and installs nothing there.
func TestUploadScriptUnsafeDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	data := "agent bytes\n"
	sum := sha256.Sum256([]byte(data))
	cmd := exec.Command("/bin/sh", "-c", uploadScript(shellQuote(dir), hex.EncodeToString(sum[:])))
	cmd.Stdin = strings.NewReader(data)
	out, err := cmd.CombinedOutput()
	want := "cache directory " + dir + " is writable by group or others; want mode 0700"
	if err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("upload into a 0777 directory: %v %q, want a refusal saying %q", err, out, want)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("unsafe cache holds %v", ents)
	}
}

// The marks in the start command's output count only as lines of their own
// after the platform line.
func TestParseStart(t *testing.T) {
	p := "\n" + platformMark + " Linux x86_64\n"
	for _, c := range []struct {
		out             string
		ok, missing     bool
		uname, unsafeIs string
	}{
		{out: "", ok: false},
		{out: "motd\n" + p + missingMark + "\n", ok: true, missing: true, uname: "Linux x86_64"},
		{out: p + missingMark + "\r\n", ok: true, missing: true, uname: "Linux x86_64"},
		{out: p + missingMark + "\nbye\n", ok: true, missing: true, uname: "Linux x86_64"},
		{out: p + "x" + missingMark + "\n", ok: true, uname: "Linux x86_64"},
		{out: p + missingMark + " and more\n", ok: true, uname: "Linux x86_64"},
		{out: missingMark + "\n" + p, ok: true, uname: "Linux x86_64"},
		{out: p + "agent failed\n", ok: true, uname: "Linux x86_64"},
		{out: p + unsafeMark + " cache directory /x is not owned by u; want mode 0700 owned by u\n", ok: true, uname: "Linux x86_64",
			unsafeIs: "cache directory /x is not owned by u; want mode 0700 owned by u"},
		{out: "x" + platformMark + " Linux x86_64\n" + missingMark + "\n", ok: false},
	} {
		st, ok := parseStart(c.out)
		if ok != c.ok || st.missing != c.missing || st.uname != c.uname || st.unsafe != c.unsafeIs {
			t.Errorf("parseStart(%q) = %+v %v, want ok %v missing %v uname %q unsafe %q", c.out, st, ok, c.ok, c.missing, c.uname, c.unsafeIs)
		}
	}
}

// A cached binary that fails after printing the missing mark inside a line
// is a binary that ran and failed: its stderr is in the error and nothing
// is uploaded over it.
func TestSSHMissingMarkInLine(t *testing.T) {
	cl, r, hash := cacheFixture(t, 87)
	dir := t.TempDir()
	bin := filepath.Join(dir, hash)
	script := "#!/bin/sh\necho 'not the " + missingMark + " line'\necho failed on purpose >&2\nexit 1\n"
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := r.SSH(testCtx(t), sshOpts(cl, "node1", dir))
	if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "failed on purpose") {
		t.Fatalf("failing cached agent: %v, want ErrStart carrying its stderr", err)
	}
	if b, _ := os.ReadFile(bin); string(b) != script {
		t.Fatal("the cached file was replaced")
	}
}

// The remote commands run under sh whatever the login shell: under each
// shell installed here, the start command runs a cached binary with the
// Env values intact, refuses an unsafe cache and says when the binary is
// missing, and the upload script installs a binary.
func TestStartCommandLoginShells(t *testing.T) {
	values := []string{"plain", "a'b", `a\b`, `end\`, `\\'`, "$HOME", "`id`", "$(id)", "*", "{a,b}", "~x", `%s\n`, "a  b", ";exit 1", "\"q\"", "!x", ""}
	var env []string
	script := "#!/bin/sh\n"
	for i, v := range values {
		env = append(env, "V"+strconv.Itoa(i)+"="+v)
		script += "printf '<%s>\\n' \"$V" + strconv.Itoa(i) + "\"\n"
	}
	want := ""
	for _, v := range values {
		want += "<" + v + ">\n"
	}
	const hash = "0123456789abcdef"
	if os.Getenv("CI") != "" {
		for _, sh := range []string{"tcsh", "fish"} { // scripts/deps.sh installs them
			if _, err := exec.LookPath(sh); err != nil {
				t.Fatalf("CI: %s is missing: %v", sh, err)
			}
		}
	}
	found := 0
	for _, sh := range []string{"sh", "dash", "bash", "zsh", "ksh", "mksh", "tcsh", "csh", "fish"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		found++
		run := func(cmd, stdin string) string {
			t.Helper()
			c := exec.Command(path, "-c", cmd)
			c.Stdin = strings.NewReader(stdin)
			out, err := c.CombinedOutput()
			if err != nil && !strings.Contains(string(out), unsafeMark) {
				t.Errorf("%s: %v: %s", sh, err, out)
			}
			return string(out)
		}
		// a cached binary runs, with every Env value as given
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, hash), []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		start, _ := startScripts(shellQuote(dir), hash, env)
		if out := run(posixCommand(start), ""); !strings.Contains(out, "\n"+platformMark+" ") || !strings.HasSuffix(out, want) {
			t.Errorf("%s: start printed %q, want the platform line, then %q", sh, out, want)
		}
		// an unsafe cache is refused
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if out := run(posixCommand(start), ""); !strings.Contains(out, unsafeMark+" cache directory "+dir+" is writable by group or others") {
			t.Errorf("%s: start in an unsafe cache printed %q", sh, out)
		}
		// a missing binary is said so, and the upload installs it
		dir = filepath.Join(t.TempDir(), "it's a \\ cache")
		start, _ = startScripts(shellQuote(dir), hash, env)
		if out := run(posixCommand(start), ""); !strings.HasSuffix(out, "\n"+missingMark+"\n") {
			t.Errorf("%s: start with no cache printed %q, want the missing mark last", sh, out)
		}
		sum := sha256.Sum256([]byte(script))
		h := hex.EncodeToString(sum[:])
		run(posixCommand(uploadScript(shellQuote(dir), h)), script)
		if b, err := os.ReadFile(filepath.Join(dir, h)); err != nil || string(b) != script {
			t.Errorf("%s: upload installed %q %v", sh, b, err)
		}
	}
	if found == 0 {
		t.Fatal("no shell found")
	}
}

// A node that will not execute the cached agent (execve fails with EACCES,
// as on a noexec mount; here the cache entry is a directory) gets an error
// that says so and names the option that picks another cache directory.
func TestSSHCacheNotExecutable(t *testing.T) {
	cl, r, hash := cacheFixture(t, 96)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, hash), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := r.SSH(testCtx(t), sshOpts(cl, "node1", dir))
	if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "Permission denied") ||
		!strings.Contains(err.Error(), "noexec") || !strings.Contains(err.Error(), "SSHOptions.CacheDir") {
		t.Fatalf("start with an agent the node cannot execute: %v", err)
	}
}

// cacheFixture starts one sshd test host at 127.0.0.addr and a root, and
// returns them with the sha256 that names this binary in an agent cache.
func cacheFixture(t *testing.T, addr int) (*testhosts.Cluster, *Router, string) {
	t.Helper()
	cl := testhosts.StartT(t, 1, testhosts.Options{FirstAddr: addr})
	_, hash, err := selfBinary()
	if err != nil {
		t.Fatal(err)
	}
	return cl, newRoot(t), hash
}
