package openssh_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/workertest"
	"github.com/muster-sh/muster/worker/openssh"
)

// silentServer accepts TCP connections on loopback and never answers, so
// that ssh waits for a banner until its connect timeout.
func silentServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().(*net.TCPAddr).Port
}

// TestConnectTimeout checks that the session's connect timeout reaches
// ssh: a server that never sends its banner makes ssh give up, which is a
// *ConnError of kind timeout.
func TestConnectTimeout(t *testing.T) {
	workertest.NeedTool(t, "ssh")
	port := silentServer(t)
	tr, err := openssh.New(openssh.Config{Options: "-F /dev/null -p " + strconv.Itoa(port) +
		" -oStrictHostKeyChecking=no -oUserKnownHostsFile=/dev/null -oLogLevel=ERROR"})
	if err != nil {
		t.Fatal(err)
	}
	s := workertest.NewSession("127.0.0.1", 0)
	s.Timeout = time.Second
	r := workertest.RunAll(context.Background(), command(t, tr, "true"), []*workertest.Session{s})[0]
	var ce *openssh.ConnError
	if !errors.As(r.Err, &ce) || ce.Kind != openssh.KindTimeout {
		t.Errorf("got %v %v (stderr %q), want a *ConnError of kind timeout", r.Status, r.Err, s.Err())
	}
}
