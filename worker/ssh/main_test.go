package sshworker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/muster-sh/muster/internal/testhosts"
)

func TestMain(m *testing.M) {
	// the client logs host keys it adds or accepts changed; keep test output clean
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	goleak.VerifyTestMain(m)
}

// cluster starts n real sshd test hosts. Each test uses its own address
// range so that tests of this package never share a host.
func cluster(t *testing.T, n int, first int) *testhosts.Cluster {
	t.Helper()
	return testhosts.StartT(t, n, testhosts.Options{FirstAddr: first})
}

// dialCounter counts TCP dials per address through Options.DialContext.
type dialCounter struct {
	mu    sync.Mutex
	addrs map[string]int
	total atomic.Int64
}

func (d *dialCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.total.Add(1)
	d.mu.Lock()
	if d.addrs == nil {
		d.addrs = map[string]int{}
	}
	d.addrs[addr]++
	d.mu.Unlock()
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

func (d *dialCounter) count(addr string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addrs[addr]
}

// newClient returns a Client reading the cluster's ssh_config plus the
// given ssh options; it is closed when the test ends.
func newClient(t *testing.T, cl *testhosts.Cluster, dc *dialCounter, args ...string) *Client {
	t.Helper()
	opts, err := ParseOptions(append([]string{"-F", cl.SSHConfig, "-o", "IdentityAgent=none"}, args...))
	if err != nil {
		t.Fatalf("ParseOptions: %v", err)
	}
	if dc != nil {
		opts.DialContext = dc.dial
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testCtx bounds a test's remote work (a hang is a failure, not a timing
// assertion).
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// wantKind checks that err is a *ConnectError of kind k, matching k's sentinel.
func wantKind(t *testing.T, err error, k Kind) *ConnectError {
	t.Helper()
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T): want a *ConnectError of kind %s", err, err, k)
	}
	if ce.Kind != k {
		t.Fatalf("error kind %s, want %s: %v", ce.Kind, k, err)
	}
	if s := k.sentinel(); s != nil && !errors.Is(err, s) {
		t.Fatalf("errors.Is(%v, %v) = false", err, s)
	}
	return ce
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hostPubKey returns the host's public key line fields (type, base64).
func hostPubKey(t *testing.T, h *testhosts.Host) []string {
	t.Helper()
	return strings.Fields(readFile(t, h.HostKey+".pub"))[:2]
}
