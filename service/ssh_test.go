package service

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-sh/muster/internal/testhosts"
	"github.com/muster-sh/muster/mesh"
)

func sshOpts(cl *testhosts.Cluster, host, dir string) mesh.SSHOptions {
	return mesh.SSHOptions{
		Host:     host,
		SSHArgs:  append(cl.SSHArgs(), "-o", "IdentityAgent=none"),
		CacheDir: dir,
		Env:      []string{"GORACE=atexit_sleep_ms=0 halt_on_error=1"},
	}
}

// parent -> ssh child -> its ssh child: activation and calls two links
// down, refusal of a child activating in its parent, and a file fetched
// from the root across both ssh links, checked by hash.
func TestSSHTwoLevelTree(t *testing.T) {
	cl := testhosts.StartT(t, 2, testhosts.Options{FirstAddr: 91})
	r, fs := rootFileService(t, FileServiceOptions{})
	ctx := testCtx(t)
	cache := t.TempDir()
	a, err := r.SSH(ctx, sshOpts(cl, "node1", cache))
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.SSH(ctx, sshOpts(cl, "node2", cache))
	if err != nil {
		t.Fatal(err)
	}
	var resp AddResp
	if err := Call(ctx, b, "test.Activated", "add", AddReq{A: 40, B: 2}, &resp); err != nil || resp.Sum != 42 {
		t.Fatalf("call two ssh links down: %+v %v", resp, err)
	}
	var up callUpResp
	if err := b.Call(ctx, "servicetest.callup", callUpReq{Service: "test.ParentOnly", Method: "open"}, &up); err != nil {
		t.Fatal(err)
	}
	if up.Code != CodeNotActivated || !strings.Contains(up.Text, `"test.ParentOnly"`) {
		t.Fatalf("ssh grandchild activating in its ssh parent: %+v", up)
	}

	src := filepath.Join(t.TempDir(), "src")
	want := writeRandom(t, src, 32<<20+7)
	if err := fs.Register(src); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	var res fetchResult
	if err := b.Call(ctx, "servicetest.fetch", fetchArgs{Path: src, Dst: dst, FromRoot: true}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Code != 0 || res.Sum != want {
		t.Fatalf("fetched over two ssh links: %+v, want sha256 %s", res, want)
	}
}

func BenchmarkFileServiceSSH(b *testing.B) {
	cl := testhosts.StartT(b, 1, testhosts.Options{FirstAddr: 94})
	r, fs := rootFileService(b, FileServiceOptions{})
	child, err := r.SSH(context.Background(), sshOpts(cl, "node1", b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(b.TempDir(), "src")
	const size = 64 << 20
	writeRandom(b, src, size)
	if err := fs.Register(src); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		var res fetchResult
		if err := child.Call(context.Background(), "servicetest.fetch", fetchArgs{Path: src}, &res); err != nil || res.Size != size {
			b.Fatalf("%+v %v", res, err)
		}
	}
}
