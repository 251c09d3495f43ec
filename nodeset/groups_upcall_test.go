package nodeset

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fakeClock is a settable clock for cache expiry tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func withFakeClock(gs *GroupSources) *fakeClock {
	c := &fakeClock{t: time.Now()}
	gs.clock = c.now
	return c
}

// runs counts the lines a counting upcall appended to its log file.
func runs(t *testing.T, log string) int {
	t.Helper()
	data, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

func TestUpcallSuccessAndSubstitution(t *testing.T) {
	gs, dir := mustLoad(t, map[string]string{
		"groups.conf": `[Main]
[src]
map: echo "$SOURCE:$GROUP:${GROUP}x"; echo "  second   line  "; echo $CFGDIR; pwd
all: printf 'n1\n\n n2\tn3 \n'
list: printf 'g1\ng2 g3\n'
reverse: echo "r-$NODE" "$$NODE"
`})
	got, err := gs.Group("src", "web")
	wantItems(t, "map", got, err, "src:web:webx", "second", "line", dir, dir)
	got, err = gs.All("src")
	wantItems(t, "all", got, err, "n1", "n2", "n3")
	got, err = gs.List("src")
	wantItems(t, "list", got, err, "g1", "g2", "g3")
	got, err = gs.Reverse("src", "node7")
	// "$$NODE" reaches the shell as "$NODE", which it expands to nothing
	// (ClusterShell substitutes only its own variables).
	wantItems(t, "reverse", got, err, "r-node7")
}

func TestUpcallFailure(t *testing.T) {
	// Upcalls leave no goroutine behind (os/exec copiers end at Wait).
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gs, _ := mustLoad(t, map[string]string{
		"groups.conf": "[bad]\nmap: echo partial; echo \"no group $GROUP\" >&2; exit 3\nlist: exit 0\n",
	})
	_, err := gs.Group("bad", "g1")
	var ue *UpcallError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUpcallFailed) {
		t.Fatalf("error = %v, want *UpcallError", err)
	}
	if ue.Source != "bad" || ue.Upcall != "map" || ue.ExitCode != 3 || ue.Timeout ||
		ue.Stderr != "no group g1" || !strings.Contains(ue.Command, `"no group g1"`) {
		t.Fatalf("UpcallError = %+v", ue)
	}
	msg := err.Error()
	for _, want := range []string{`"bad"`, "map upcall", "exit 3", "status 3", "no group g1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not mention %q", msg, want)
		}
	}
	// An upcall printing nothing and exiting 0 is an empty answer.
	got, err := gs.List("bad")
	wantItems(t, "empty list", got, err)
}

func TestUpcallMissing(t *testing.T) {
	gs, _ := mustLoad(t, map[string]string{"groups.conf": "[m]\nmap: echo n1\nall:\n"})
	if _, err := gs.List("m"); !errors.Is(err, ErrNoUpcall) || !strings.Contains(err.Error(), `"m" has no list upcall`) {
		t.Fatalf("List error = %v, want ErrNoUpcall naming source and upcall", err)
	}
	// An empty "all" counts as absent; without list there is no way to all nodes.
	if _, err := gs.All("m"); !errors.Is(err, ErrNoUpcall) || !strings.Contains(err.Error(), "neither an all nor a list") {
		t.Fatalf("All error = %v, want ErrNoUpcall", err)
	}
	if _, err := gs.Reverse("m", "n1"); !errors.Is(err, ErrNoReverse) {
		t.Fatalf("Reverse error = %v, want ErrNoReverse", err)
	}
}

func TestUpcallTimeout(t *testing.T) {
	// Upcalls leave no goroutine behind (os/exec copiers end at Wait).
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gs, _ := mustLoad(t, map[string]string{
		// The shell's child (sleep) holds stdout open: it must be killed
		// with the shell for the call to return.
		"groups.conf": "[slow]\nmap: echo started >&2; sleep 30; echo n1\n",
	})
	gs.SetUpcallTimeout(2 * time.Second)
	if gs.UpcallTimeout() != 2*time.Second {
		t.Fatalf("UpcallTimeout = %v", gs.UpcallTimeout())
	}
	_, err := gs.Group("slow", "g")
	var ue *UpcallError
	if !errors.As(err, &ue) || !ue.Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want a timed-out *UpcallError", err)
	}
	if !strings.Contains(err.Error(), "timed out after 2s") || !strings.Contains(err.Error(), "sleep 30") || ue.Stderr != "started" {
		t.Fatalf("message %q (stderr %q) should say it timed out, name the command and keep its stderr", err, ue.Stderr)
	}
}

func TestUpcallContextCanceled(t *testing.T) {
	// Upcalls leave no goroutine behind (os/exec copiers end at Wait).
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gs, _ := mustLoad(t, map[string]string{"groups.conf": "[s]\nmap: echo n1\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := gs.GroupContext(ctx, "s", "g")
	var ue *UpcallError
	if !errors.As(err, &ue) || ue.Timeout || !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want a canceled *UpcallError", err)
	}
}

func TestUpcallCache(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	writeFiles(t, dir, map[string]string{
		"groups.conf": `[DEFAULT]
cache_time: 60
[cached]
map: echo x >> calls.log; echo $GROUP-nodes
list: echo x >> calls.log; echo g
[nocache]
map: echo x >> calls.log; echo n
cache_time: 0
[flaky]
map: echo x >> calls.log; test -f ok && echo fixed
`})
	gs, err := LoadGroupsConfig(filepath.Join(dir, "groups.conf"))
	if err != nil {
		t.Fatal(err)
	}
	clock := withFakeClock(gs)

	for range 3 {
		got, err := gs.Group("cached", "a")
		wantItems(t, "cached map", got, err, "a-nodes")
	}
	if n := runs(t, log); n != 1 {
		t.Fatalf("map ran %d times for 3 lookups of one group within cache_time, want 1", n)
	}
	_, _ = gs.Group("cached", "b") // another key is another entry
	_, _ = gs.List("cached")
	_, _ = gs.List("cached")
	if n := runs(t, log); n != 3 {
		t.Fatalf("upcalls ran %d times, want 3 (a, b, list)", n)
	}
	clock.advance(59 * time.Second)
	_, _ = gs.Group("cached", "a")
	if n := runs(t, log); n != 3 {
		t.Fatalf("entry expired before cache_time: %d runs", n)
	}
	clock.advance(2 * time.Second)
	_, _ = gs.Group("cached", "a")
	if n := runs(t, log); n != 4 {
		t.Fatalf("entry not refreshed after cache_time: %d runs, want 4", n)
	}
	gs.ClearCache()
	_, _ = gs.Group("cached", "a")
	if n := runs(t, log); n != 5 {
		t.Fatalf("ClearCache did not drop the entry: %d runs, want 5", n)
	}

	// cache_time 0: each lookup after the clock moves runs again.
	_, _ = gs.Group("nocache", "a")
	clock.advance(time.Millisecond)
	_, _ = gs.Group("nocache", "a")
	if n := runs(t, log); n != 7 {
		t.Fatalf("cache_time 0: %d runs, want 7", n)
	}

	// Failures are not cached: once the command succeeds, its answer is used.
	if _, err := gs.Group("flaky", "a"); !errors.Is(err, ErrUpcallFailed) {
		t.Fatalf("flaky first call error = %v", err)
	}
	writeFiles(t, dir, map[string]string{"ok": ""})
	got, err := gs.Group("flaky", "a")
	wantItems(t, "flaky after fix", got, err, "fixed")
}

func TestUpcallCacheNeverExpires(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	writeFiles(t, dir, map[string]string{"groups.conf": "[inf]\nmap: echo x >> calls.log\ncache_time: inf\n[nan]\nmap: echo x >> calls.log\ncache_time: nan\n"})
	gs, err := LoadGroupsConfig(filepath.Join(dir, "groups.conf"))
	if err != nil {
		t.Fatal(err)
	}
	clock := withFakeClock(gs)
	for _, src := range []string{"inf", "nan"} {
		_, _ = gs.Group(src, "a")
		clock.advance(1000 * time.Hour)
		_, _ = gs.Group(src, "a")
	}
	if n := runs(t, log); n != 2 {
		t.Fatalf("infinite/NaN cache_time: %d runs, want 2 (never expire, as in ClusterShell)", n)
	}
}

func TestUpcallIllegalGroupChars(t *testing.T) {
	gs, _ := mustLoad(t, map[string]string{"groups.conf": "[s]\nmap: echo n1\nlist: echo good 'b@d'\nreverse: echo 'x,y'\n"})
	_, err := gs.List("s")
	if !errors.Is(err, ErrIllegalGroupChar) || !strings.Contains(err.Error(), `"b@d"`) || !strings.Contains(err.Error(), `list upcall of group source "s"`) {
		t.Fatalf("List error = %v", err)
	}
	_, err = gs.Reverse("s", "n1")
	if !errors.Is(err, ErrIllegalGroupChar) || !strings.Contains(err.Error(), `"x,y"`) {
		t.Fatalf("Reverse error = %v", err)
	}
}

func TestUpcallConcurrent(t *testing.T) {
	// Upcalls leave no goroutine behind (os/exec copiers end at Wait).
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gs, _ := mustLoad(t, map[string]string{"groups.conf": "[s]\nmap: echo $GROUP\nlist: echo a b\n"})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			grp := string(rune('a' + i%4))
			got, err := gs.Group("s", grp)
			if err == nil && (len(got) != 1 || got[0] != grp) {
				err = errors.New("wrong answer " + strings.Join(got, ","))
			}
			if err != nil {
				errs <- err
			}
			if i%5 == 0 {
				gs.ClearCache()
			}
			if _, err := gs.List(""); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// recordHandler keeps the records logged through it.
type recordHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r)
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func TestUpcallStderrOnSuccessIsLogged(t *testing.T) {
	h := &recordHandler{}
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	defer slog.SetDefault(prev)

	gs, _ := mustLoad(t, map[string]string{"groups.conf": "[s]\nmap: echo 'warning: stale data' >&2; echo n1\n"})
	got, err := gs.Group("s", "g")
	// Like ClusterShell, stderr alone does not fail the upcall.
	wantItems(t, "map with stderr", got, err, "n1")
	h.mu.Lock()
	defer h.mu.Unlock()
	found := false
	for _, r := range h.recs {
		if r.Level != slog.LevelWarn {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "stderr" && a.Value.String() == "warning: stale data" {
				found = true
			}
			return true
		})
	}
	if !found {
		t.Fatalf("no warning with the upcall's stderr among %d log records", len(h.recs))
	}
}

func TestUpcallConcurrentLookupsShareOneRun(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	writeFiles(t, dir, map[string]string{"groups.conf": "[s]\nmap: echo x >> calls.log; sleep 0.2; echo $GROUP\n"})
	gs, err := LoadGroupsConfig(filepath.Join(dir, "groups.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([][]string, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Go(func() { results[i], errs[i] = gs.Group("s", "g") })
	}
	wg.Wait()
	for i := range 8 {
		wantItems(t, "concurrent lookup", results[i], errs[i], "g")
	}
	// Lookups either waited for the one running command or found its
	// cached answer.
	if n := runs(t, log); n != 1 {
		t.Fatalf("map ran %d times for 8 concurrent lookups, want 1", n)
	}
}

func TestUpcallWaiterGivesUp(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gs, _ := mustLoad(t, map[string]string{"groups.conf": "[s]\nmap: sleep 1; echo $GROUP\n"})
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		_, err := gs.Group("s", "g")
		done <- err
	}()
	<-started
	// Whether this lookup waits for the other one or runs the command
	// itself, its canceled context ends it with a context error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := gs.GroupContext(ctx, "s", "g"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled lookup error = %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the other lookup failed: %v", err)
	}
}
