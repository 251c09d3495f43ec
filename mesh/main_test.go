package mesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/muster-sh/muster/sched"
)

var testSched *sched.Scheduler

func TestMain(m *testing.M) {
	MaybeAgent()
	// children built with -race would otherwise sleep 1 s at exit
	_ = os.Setenv("GORACE", "atexit_sleep_ms=0 halt_on_error=1")
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var err error
	testSched, err = sched.New(sched.Config{IdleTimeout: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	_ = testSched.Close(context.Background())
	if code == 0 {
		// sched.Default (the Example's Scheduler) keeps idle workers for
		// 2 s: look again for longer than that before calling anything a leak
		err := goleak.Find()
		for i := 0; err != nil && i < 25; i++ {
			time.Sleep(200 * time.Millisecond)
			err = goleak.Find()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Functions every test binary (parent and agent alike) registers.
func init() {
	Register("test.echo", func(ctx context.Context, s string) (string, error) { return s, nil })
	Register("test.add", func(ctx context.Context, a [2]int) (int, error) { return a[0] + a[1], nil })
	Register("test.fail", func(ctx context.Context, msg string) (int, error) { return 0, errors.New(msg) })
	Register("test.panic", func(ctx context.Context, msg string) (int, error) { panic(msg) })
	Register("test.nothing", func(ctx context.Context, _ struct{}) (struct{}, error) { return struct{}{}, nil })
	Register("test.pid", func(ctx context.Context, _ struct{}) (int, error) { return os.Getpid(), nil })
	Register("test.sleep", func(ctx context.Context, d time.Duration) (int, error) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		return 0, nil
	})
}

// testCtx bounds a test (a hang is a failure, not a timing assertion).
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newRoot returns a root Router closed when the test ends.
func newRoot(t testing.TB) *Router { return newRootWith(t, nil) }

// newRootWith is newRoot with the test's Config changes applied by set.
func newRootWith(t testing.TB, set func(*Config)) *Router {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Scheduler = testSched
	cfg.ShutdownGrace = 2 * time.Second
	if set != nil {
		set(&cfg)
	}
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func localChild(t testing.TB, r *Router, name string) *Context {
	t.Helper()
	c, err := r.Local(testCtx(t), LocalOptions{Name: name})
	if err != nil {
		t.Fatalf("Local: %v", err)
	}
	return c
}

func init() {
	Register("test.parents", func(ctx context.Context, _ struct{}) ([]ID, error) {
		r := FromContext(ctx)
		return append([]ID{r.ID()}, r.ParentIDs()...), nil
	})
	Register("test.sendto", func(ctx context.Context, a struct {
		To  SenderRef
		Msg string
	}) (int, error) {
		return 0, FromContext(ctx).Sender(a.To).Send(a.Msg)
	})
	Register("test.startlocal", func(ctx context.Context, name string) (ID, error) {
		c, err := FromContext(ctx).Local(ctx, LocalOptions{Name: name})
		if err != nil {
			return 0, err
		}
		return c.ID(), nil
	})
	Register("test.callparent", func(ctx context.Context, _ struct{}) (int, error) {
		r := FromContext(ctx)
		return 0, r.Context(r.ParentIDs()[0]).Call(ctx, "test.nothing", struct{}{}, nil)
	})
}

func init() {
	Register("test.big", func(ctx context.Context, n int) ([]byte, error) { return make([]byte, n), nil })
	// test.stream sends n raw chunks of size bytes to a receiver, then
	// closes the stream.
	Register("test.stream", func(ctx context.Context, a struct {
		To      SenderRef
		N, Size int
	}) (int, error) {
		s := FromContext(ctx).Sender(a.To)
		for i := range a.N {
			b := make([]byte, a.Size)
			for j := range b {
				b[j] = byte(i + j)
			}
			if err := s.SendBytes(b); err != nil {
				return i, err
			}
		}
		return a.N, s.Close()
	})
}

func init() {
	Register("test.crash", func(ctx context.Context, msg string) (int, error) {
		go panic(msg) // not recovered: the process dies
		select {}
	})
}
