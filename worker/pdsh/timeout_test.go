package pdsh_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/workertest"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/openssh"
	"github.com/muster-sh/muster/worker/pdsh"
)

// TestConnectTimeout checks that the session's connect timeout reaches
// ssh through PDSH_SSH_ARGS_APPEND: a server that never sends its banner
// makes ssh give up, reported as a *openssh.ConnError of kind timeout.
func TestConnectTimeout(t *testing.T) {
	workertest.NeedTool(t, "pdsh")
	workertest.NeedTool(t, "ssh")
	port := workertest.SilentServer(t)
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
