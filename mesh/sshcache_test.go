package mesh

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
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
