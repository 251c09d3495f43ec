package openssh_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/workertest"
	"github.com/muster-sh/muster/worker/openssh"
)

// TestConnectTimeout checks that the session's connect timeout reaches
// ssh: a server that never sends its banner makes ssh give up, which is a
// *ConnError of kind timeout.
func TestConnectTimeout(t *testing.T) {
	workertest.NeedTool(t, "ssh")
	port := workertest.SilentServer(t)
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
