package pdsh_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/workertest"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/openssh"
	"github.com/muster-sh/muster/worker/pdsh"
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
// ssh through PDSH_SSH_ARGS_APPEND: a server that never sends its banner
// makes ssh give up, reported as a *openssh.ConnError of kind timeout.
func TestConnectTimeout(t *testing.T) {
	workertest.NeedTool(t, "pdsh")
	workertest.NeedTool(t, "ssh")
	port := silentServer(t)
	tr, err := pdsh.New(pdsh.Config{Rcmd: "ssh", SSHArgs: "-F /dev/null -p " + strconv.Itoa(port) +
		" -oStrictHostKeyChecking=no -oUserKnownHostsFile=/dev/null -oLogLevel=ERROR"})
	if err != nil {
		t.Fatal(err)
	}
	s := workertest.NewSession("127.0.0.1", 0)
	s.Timeout = time.Second
	d, _ := tr.Command(worker.Command{Line: "true"})
	_, errs := d.(worker.BatchDriver).RunAll(context.Background(), []worker.Session{s})
	var ce *openssh.ConnError
	if !errors.As(errs[0], &ce) || ce.Kind != openssh.KindTimeout {
		t.Errorf("got %v (stderr %q), want a *ConnError of kind timeout", errs[0], s.Err())
	}
}
