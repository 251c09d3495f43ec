package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muster-sh/muster/mesh"
)

type fetchArgs struct {
	Path, Dst string
	FromRoot  bool // fetch from the root instead of the immediate parent
}

type fetchResult struct {
	Sum  string
	Size int64
	Code Code
	Text string
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func init() {
	// Run in a child: fetch a file from the parent's FileService into Dst
	// (or discard it when Dst is empty) and report its hash.
	mesh.Register("servicetest.fetch", func(ctx context.Context, a fetchArgs) (fetchResult, error) {
		r := mesh.FromContext(ctx)
		ids := r.ParentIDs()
		parent := r.Context(ids[0])
		if a.FromRoot {
			parent = r.Context(ids[len(ids)-1])
		}
		var res fetchResult
		var err error
		if a.Dst == "" {
			_, res.Size, err = Fetch(ctx, parent, a.Path, io.Discard)
		} else {
			var meta FileMeta
			meta, err = FetchFile(ctx, parent, a.Path, a.Dst)
			res.Size = meta.Size
		}
		var se *Error
		if errors.As(err, &se) {
			res.Code, res.Text = se.Code, se.Error()
			return res, nil
		}
		if err != nil {
			return res, err
		}
		if a.Dst != "" {
			res.Sum, err = fileSum(a.Dst)
		}
		return res, err
	})
}

func writeRandom(t testing.TB, path string, size int) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{7})
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for size > 0 {
		n := min(size, len(buf))
		_, _ = rng.Read(buf[:n])
		h.Write(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		size -= n
	}
	return hex.EncodeToString(h.Sum(nil))
}

func rootFileService(t testing.TB, o FileServiceOptions) (*mesh.Router, *FileService) {
	r, p := newRoot(t)
	fs := NewFileService(p, o)
	if err := p.Add(fs.Service()); err != nil {
		t.Fatal(err)
	}
	return r, fs
}

func TestFileServiceIntegrityToLocalChild(t *testing.T) {
	r, fs := rootFileService(t, FileServiceOptions{})
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	want := writeRandom(t, src, 100<<20+12345) // not a multiple of the chunk size
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(src, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := fs.Register(src); err != nil {
		t.Fatal(err)
	}
	child := localChild(t, r, "fetcher")
	outDir := t.TempDir()
	dst := filepath.Join(outDir, "dst.bin")
	var res fetchResult
	if err := child.Call(testCtx(t), "servicetest.fetch", fetchArgs{Path: src, Dst: dst}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Code != 0 || res.Sum != want || res.Size != 100<<20+12345 {
		t.Fatalf("fetched %+v, want sha256 %s", res, want)
	}
	st, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 || !st.ModTime().Equal(mtime) {
		t.Fatalf("metadata not applied: mode %v mtime %v", st.Mode(), st.ModTime())
	}
	ents, _ := os.ReadDir(outDir)
	if len(ents) != 1 {
		t.Fatalf("destination directory holds %d entries, want only the file", len(ents))
	}
}

func TestFileServiceRefusals(t *testing.T) {
	r, fs := rootFileService(t, FileServiceOptions{})
	base := t.TempDir()
	allowed := filepath.Join(base, "allowed")
	secret := filepath.Join(base, "secret")
	for _, d := range []string{allowed, secret, filepath.Join(allowed, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(allowed, "sub", "ok.txt"), filepath.Join(secret, "key"), filepath.Join(base, "single")} {
		if err := os.WriteFile(f, []byte("content of "+f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Symbolic links inside the prefix that lead out of it.
	if err := os.Symlink(filepath.Join(secret, "key"), filepath.Join(allowed, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(allowed, "dirlink")); err != nil {
		t.Fatal(err)
	}
	if err := fs.RegisterPrefix(allowed); err != nil {
		t.Fatal(err)
	}
	if err := fs.Register(filepath.Join(base, "single")); err != nil {
		t.Fatal(err)
	}
	child := localChild(t, r, "fetcher")
	outDir := t.TempDir()
	refused := []string{
		filepath.Join(secret, "key"),                  // not registered
		filepath.Join(allowed, "escape"),              // symlink to a file outside the prefix
		filepath.Join(allowed, "dirlink", "key"),      // through a symlinked directory
		filepath.Join(allowed, "..", "secret", "key"), // dot-dot
		"allowed/sub/ok.txt",                          // relative
		filepath.Join(base, "missing"),                // does not exist
	}
	for i, p := range refused {
		var res fetchResult
		dst := filepath.Join(outDir, "out")
		if err := child.Call(testCtx(t), "servicetest.fetch", fetchArgs{Path: p, Dst: dst}, &res); err != nil {
			t.Fatalf("%d %s: %v", i, p, err)
		}
		if res.Code != CodeRefused || !strings.Contains(res.Text, p) || !strings.Contains(res.Text, FileServiceName) {
			t.Fatalf("fetching %s: %+v, want a refusal naming the path", p, res)
		}
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
		t.Fatalf("refused fetches left %d files behind", len(ents))
	}
	for _, p := range []string{filepath.Join(allowed, "sub", "ok.txt"), filepath.Join(base, "single")} {
		var res fetchResult
		dst := filepath.Join(outDir, filepath.Base(p))
		if err := child.Call(testCtx(t), "servicetest.fetch", fetchArgs{Path: p, Dst: dst}, &res); err != nil || res.Code != 0 {
			t.Fatalf("fetching registered %s: %+v %v", p, res, err)
		}
		if b, _ := os.ReadFile(dst); string(b) != "content of "+p {
			t.Fatalf("%s: got %q", p, b)
		}
	}
	// A child may not register paths in its parent.
	var up callUpResp
	if err := child.Call(testCtx(t), "servicetest.callup", callUpReq{Service: FileServiceName, Method: "register"}, &up); err != nil {
		t.Fatal(err)
	}
	if up.Code != CodeRefused || !strings.Contains(up.Text, `"register"`) {
		t.Fatalf("a child registering a path in its parent: %+v", up)
	}
}

func TestFetchFileInterruptedLeavesNothing(t *testing.T) {
	// One small chunk in flight at a time keeps the transfer slow enough to
	// interrupt; the test retries if it finished first anyway.
	r, fs := rootFileService(t, FileServiceOptions{ChunkSize: 4096, Window: 4096})
	dir := t.TempDir()
	src := filepath.Join(dir, "big")
	writeRandom(t, src, 64<<20)
	if err := fs.Register(src); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	dst := filepath.Join(outDir, "dst")
	interrupted := false
	for attempt := 0; attempt < 5 && !interrupted; attempt++ {
		// Each attempt starts from the old file: one that finished first
		// has replaced it with the whole new one.
		if err := os.WriteFile(dst, []byte("previous"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(testCtx(t))
		done := make(chan error, 1)
		go func() {
			_, err := FetchFile(ctx, r.Myself(), src, dst)
			done <- err
		}()
		// Cancel once part of the file has arrived in the temporary file.
	poll:
		for i := 0; i < 30000; i++ {
			ents, _ := os.ReadDir(outDir)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".dst.part-") {
					if info, err := e.Info(); err == nil && info.Size() > 0 {
						break poll
					}
				}
			}
			time.Sleep(100 * time.Microsecond)
		}
		cancel()
		err := <-done
		interrupted = err != nil
		if interrupted && !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted fetch: %v, want context.Canceled", err)
		}
	}
	if !interrupted {
		t.Fatal("5 transfers of 64 MiB in 4 KiB chunks all finished before being cancelled")
	}
	ents, _ := os.ReadDir(outDir)
	if len(ents) != 1 || ents[0].Name() != "dst" {
		t.Fatalf("after an interrupted fetch the directory holds %v", ents)
	}
	if b, _ := os.ReadFile(dst); string(b) != "previous" {
		t.Fatalf("the destination was replaced by a partial file (%d bytes)", len(b))
	}
}

func BenchmarkFileServiceLocal(b *testing.B) {
	r, fs := rootFileService(b, FileServiceOptions{})
	src := filepath.Join(b.TempDir(), "src")
	const size = 64 << 20
	writeRandom(b, src, size)
	if err := fs.Register(src); err != nil {
		b.Fatal(err)
	}
	child := localChild(b, r, "bench")
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		var res fetchResult
		if err := child.Call(context.Background(), "servicetest.fetch", fetchArgs{Path: src}, &res); err != nil || res.Size != size {
			b.Fatalf("%+v %v", res, err)
		}
	}
}

func init() {
	// Run in a child: start fetching from the parent, never read nor
	// acknowledge, and report the pid so that the test can kill it.
	mesh.Register("servicetest.fetchstall", func(ctx context.Context, path string) (int, error) {
		r := mesh.FromContext(ctx)
		parent := r.Context(r.ParentIDs()[0])
		rc := r.NewReceiver(1) // deliberately never read or closed: the child dies
		var meta FileMeta
		if err := Call(ctx, parent, FileServiceName, "fetch", fetchReq{Path: path, Sender: rc.Sender()}, &meta); err != nil {
			return 0, err
		}
		return os.Getpid(), nil
	})
}

// A fetcher that dies with the window full: the parent drops its transfer
// (closing the file) as soon as the child is known gone, and other fetchers
// are served.
func TestFileServiceDropsTransferOfDeadFetcher(t *testing.T) {
	r, fs := rootFileService(t, FileServiceOptions{ChunkSize: 4096, Window: 16384})
	src := filepath.Join(t.TempDir(), "src")
	want := writeRandom(t, src, 1<<20)
	if err := fs.Register(src); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	victim := localChild(t, r, "victim")
	var pid int
	if err := victim.Call(ctx, "servicetest.fetchstall", src, &pid); err != nil {
		t.Fatal(err)
	}
	if n := fs.pending(); n != 1 {
		t.Fatalf("%d transfers pending, want the stalled one", n)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.Done()
	waitUntil(t, func() bool { return fs.pending() == 0 }, func() string {
		return fmt.Sprintf("%d transfers still pending 30 s after the fetcher died", fs.pending())
	})
	other := localChild(t, r, "other")
	var res fetchResult
	if err := other.Call(ctx, "servicetest.fetch", fetchArgs{Path: src, Dst: filepath.Join(t.TempDir(), "dst")}, &res); err != nil || res.Sum != want {
		t.Fatalf("fetch after a dead fetcher: %+v %v", res, err)
	}
}

// An acknowledgement of a negative (or zero) size is a bad argument; it
// used to widen the link's debt so that the window never opened again and
// every later transfer on that link stalled.
func TestFileServiceAckSizeMustBePositive(t *testing.T) {
	r, fs := rootFileService(t, FileServiceOptions{ChunkSize: 4096, Window: 16384})
	src := filepath.Join(t.TempDir(), "src")
	writeRandom(t, src, 64<<10)
	if err := fs.Register(src); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if _, n, err := Fetch(ctx, r.Myself(), src, io.Discard); err != nil || n != 64<<10 {
		t.Fatalf("first fetch: %d bytes, %v", n, err)
	}
	for _, size := range []int{-1 << 40, 0} {
		err := Call(ctx, r.Myself(), FileServiceName, "ack", map[string]any{"size": size, "sender": mesh.SenderRef{Context: r.ID()}}, nil)
		var ae *ArgError
		if !errors.Is(err, ErrBadArgs) || !errors.As(err, &ae) || ae.Field != "size" {
			t.Fatalf("ack of %d bytes: %v, want a bad-args error naming size", size, err)
		}
	}
	// A refused acknowledgement changed nothing: the next fetch goes through
	// (it would wait for the window forever otherwise; the bound is only a
	// guard).
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, n, err := Fetch(fctx, r.Myself(), src, io.Discard); err != nil || n != 64<<10 {
		t.Fatalf("fetch after a negative ack: %d bytes, %v", n, err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// A Fetch that stops early (here its writer fails at the first chunk) tells
// the server, which drops the transfer: a later fetch through the same link
// is served instead of waiting behind a full window forever.
func TestFetchStoppedEarlyFreesTheLink(t *testing.T) {
	r, fs := rootFileService(t, FileServiceOptions{ChunkSize: 4096, Window: 16384})
	src := filepath.Join(t.TempDir(), "src")
	writeRandom(t, src, 1<<20)
	if err := fs.Register(src); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if _, _, err := Fetch(ctx, r.Myself(), src, failingWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("fetch into a failing writer: %v", err)
	}
	// The bound only keeps a regression from hanging the test.
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, n, err := Fetch(fctx, r.Myself(), src, io.Discard); err != nil || n != 1<<20 {
		t.Fatalf("second fetch of the same file: %d bytes, %v", n, err)
	}
	waitUntil(t, func() bool { return fs.pending() == 0 && fs.linksHeld() == 0 }, func() string {
		return fmt.Sprintf("%d transfers and %d links still held 30 s after both fetches ended", fs.pending(), fs.linksHeld())
	})
}

// A fetcher that stays alive but neither acknowledges nor cancels loses its
// transfer after IdleTimeout, so that it does not hold the link for ever.
func TestFileServiceIdleTimeout(t *testing.T) {
	r, fs := rootFileService(t, FileServiceOptions{ChunkSize: 4096, Window: 16384, IdleTimeout: 100 * time.Millisecond})
	src := filepath.Join(t.TempDir(), "src")
	want := writeRandom(t, src, 1<<20)
	if err := fs.Register(src); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	staller := localChild(t, r, "staller")
	var pid int
	if err := staller.Call(ctx, "servicetest.fetchstall", src, &pid); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return fs.pending() == 0 }, func() string {
		return fmt.Sprintf("%d transfers still pending 30 s after the fetcher stalled", fs.pending())
	})
	// The link is free again. No idle timeout for the next fetch, so that
	// a slow machine cannot drop it too.
	fs.mu.Lock()
	fs.idle = -1
	fs.mu.Unlock()
	other := localChild(t, r, "other")
	var res fetchResult
	if err := other.Call(ctx, "servicetest.fetch", fetchArgs{Path: src, Dst: filepath.Join(t.TempDir(), "dst")}, &res); err != nil || res.Sum != want {
		t.Fatalf("fetch after a stalled fetcher: %+v %v", res, err)
	}
}

// A FIFO (or any non-regular file) under a registered prefix, or registered
// itself, is refused at once: opening it for reading used to block a sched
// worker until a writer came, and the Pool could not close.
func TestFileServiceRefusesFIFO(t *testing.T) {
	r, fs := rootFileService(t, FileServiceOptions{})
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Without the fix a reader is stuck in open: let it go.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	if err := fs.RegisterPrefix(dir); err != nil {
		t.Fatal(err)
	}
	if err := fs.Register(fifo); err != nil {
		t.Fatal(err)
	}
	// The bound only keeps a regression from hanging the test.
	ctx, cancel := context.WithTimeout(testCtx(t), 20*time.Second)
	defer cancel()
	_, _, err := Fetch(ctx, r.Myself(), fifo, io.Discard)
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("fetching a FIFO: %v, want a prompt error saying it is not a regular file", err)
	}
}

// A directory on a fetched path swapped for a symbolic link after the path
// was checked (a writer racing the server, played here by the hook) cannot
// lead the server out of the prefix, nor to another file than the one
// registered.
func TestFileServiceSwapAfterCheck(t *testing.T) {
	r, fs := rootFileService(t, FileServiceOptions{})
	base := t.TempDir()
	secretDir := filepath.Join(base, "secret")
	prefix := filepath.Join(base, "prefix")
	regDir := filepath.Join(base, "reg")
	for _, d := range []string{secretDir, filepath.Join(prefix, "sub"), regDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(secretDir, "f"), filepath.Join(prefix, "sub", "f"), filepath.Join(regDir, "f")} {
		content := "public"
		if strings.HasPrefix(f, secretDir) {
			content = "SECRET"
		}
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.RegisterPrefix(prefix); err != nil {
		t.Fatal(err)
	}
	if err := fs.Register(filepath.Join(regDir, "f")); err != nil {
		t.Fatal(err)
	}
	swap := func(dir string) func(string) {
		return func(string) {
			if err := os.Rename(dir, dir+".old"); err != nil {
				t.Error(err)
			}
			if err := os.Symlink(secretDir, dir); err != nil {
				t.Error(err)
			}
		}
	}
	ctx := testCtx(t)
	for _, c := range []struct{ path, swapped string }{
		{filepath.Join(prefix, "sub", "f"), filepath.Join(prefix, "sub")},
		{filepath.Join(regDir, "f"), regDir},
	} {
		testHookFetchOpen = swap(c.swapped)
		var buf strings.Builder
		_, _, err := Fetch(ctx, r.Myself(), c.path, &buf)
		testHookFetchOpen = nil
		if err == nil || buf.Len() != 0 {
			t.Fatalf("fetching %s with %s swapped for a link out: got %q, %v; want an error and nothing", c.path, c.swapped, buf.String(), err)
		}
	}
}

func init() {
	// Run in a child: fetch path from the parent by hand and report
	// whether the answer to "fetch" (the metadata) had arrived when the
	// first chunk did.
	mesh.Register("servicetest.fetchorder", func(ctx context.Context, path string) (bool, error) {
		r := mesh.FromContext(ctx)
		parent := r.Context(r.ParentIDs()[0])
		rc := r.NewReceiver(16)
		defer rc.Close()
		pd := CallAsync(ctx, parent, FileServiceName, "fetch", fetchReq{Path: path, Sender: rc.Sender()})
		if _, err := rc.Recv(ctx); err != nil {
			return false, err
		}
		select {
		case <-pd.Done():
		default:
			return false, nil
		}
		var meta FileMeta
		if err := pd.Wait(ctx, &meta); err != nil {
			return false, err
		}
		_ = CallNoReply(parent, FileServiceName, "cancel", cancelReq{Sender: rc.Sender()})
		return true, nil
	})
}

// The metadata comes first: the answer to "fetch" reaches the fetcher
// before the file's first chunk.
func TestFileServiceMetadataFirst(t *testing.T) {
	r, fs := rootFileService(t, FileServiceOptions{})
	src := filepath.Join(t.TempDir(), "src")
	writeRandom(t, src, 1<<20)
	if err := fs.Register(src); err != nil {
		t.Fatal(err)
	}
	child := localChild(t, r, "order")
	for i := range 20 {
		var first bool
		if err := child.Call(testCtx(t), "servicetest.fetchorder", src, &first); err != nil {
			t.Fatal(err)
		}
		if !first {
			t.Fatalf("fetch %d: a chunk arrived before the metadata", i)
		}
	}
}
