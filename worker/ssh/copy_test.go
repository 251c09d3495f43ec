package sshworker

import (
	"bytes"
	"context"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// makeTree writes a small tree with nested directories, an empty file, a
// binary file, an executable and a symbolic link; it returns the relative
// paths of its regular files with their contents.
func makeTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	big := make([]byte, 300<<10)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"a.txt":             []byte("alpha\n"),
		"empty":             nil,
		"bin/run.sh":        []byte("#!/bin/sh\necho run\n"),
		"data/blob":         big,
		"data/deep/er/x.md": []byte("# deep\n"),
	}
	for rel, b := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "bin/run.sh"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../a.txt", filepath.Join(root, "data/link")); err != nil {
		t.Fatal(err)
	}
	return files
}

// checkTree compares a copied tree with the files makeTree wrote.
func checkTree(t *testing.T, root string, files map[string][]byte, preserved map[string]time.Time) {
	t.Helper()
	var got []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.Type().IsRegular() {
			got = append(got, rel)
			want, ok := files[rel]
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !ok || !bytes.Equal(b, want) {
				t.Errorf("%s: %d bytes, want %d (known %v)", p, len(b), len(want), ok)
			}
			if mt, ok := preserved[rel]; ok {
				fi, _ := d.Info()
				if !fi.ModTime().Equal(mt) {
					t.Errorf("%s: mtime %v, want %v", p, fi.ModTime(), mt)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if len(got) != len(files) {
		t.Errorf("%s holds %v, want %d files", root, got, len(files))
	}
	fi, err := os.Stat(filepath.Join(root, "bin/run.sh"))
	if err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("run.sh mode %v %v, want 0750", fi.Mode(), err)
	}
	if l, err := os.Readlink(filepath.Join(root, "data/link")); err != nil || l != "../a.txt" {
		t.Errorf("data/link -> %q %v, want ../a.txt", l, err)
	}
}

// Copy a file and a tree to 8 nodes, then Rcopy them back, contents
// checked, over the same connections.
func TestCopyAndRcopy(t *testing.T) {
	cl := cluster(t, 8, 201)
	dc := &dialCounter{}
	c := newClient(t, cl, dc)
	ctx := testCtx(t)

	src := t.TempDir()
	files := makeTree(t, filepath.Join(src, "tree"))
	single := filepath.Join(src, "single.conf")
	if err := os.WriteFile(single, []byte("key = value\n"), 0o604); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := os.Chtimes(single, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(src, "tree/a.txt"), old, old); err != nil {
		t.Fatal(err)
	}

	// The "remote" file systems are this machine's: one directory per node.
	remote := t.TempDir()
	var wg sync.WaitGroup
	for _, h := range cl.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := filepath.Join(remote, h.Name)
			if err := os.Mkdir(dst, 0o755); err != nil {
				t.Error(err)
				return
			}
			// into an existing directory: dst/basename
			if err := c.Copy(ctx, h.Name, filepath.Join(src, "tree"), dst, CopyOptions{Preserve: true}); err != nil {
				t.Error(err)
			}
			if err := c.Copy(ctx, h.Name, single, dst, CopyOptions{Preserve: true}); err != nil {
				t.Error(err)
			}
			// to a new name
			if err := c.Copy(ctx, h.Name, single, filepath.Join(dst, "renamed.conf"), CopyOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, h := range cl.Hosts {
		dst := filepath.Join(remote, h.Name)
		checkTree(t, filepath.Join(dst, "tree"), files, map[string]time.Time{"a.txt": old})
		fi, err := os.Stat(filepath.Join(dst, "single.conf"))
		if err != nil || !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o604 {
			t.Errorf("%s single.conf: %v %v, want mtime %v mode 0604", h.Name, fi, err, old)
		}
		if got := readFile(t, filepath.Join(dst, "renamed.conf")); got != "key = value\n" {
			t.Errorf("renamed.conf: %q", got)
		}
		fi, err = os.Stat(filepath.Join(dst, "renamed.conf"))
		if err != nil || fi.ModTime().Equal(old) {
			t.Errorf("renamed.conf copied without Preserve kept the source time %v", old)
		}
	}

	// Rcopy: dest/basename.node, one per node
	back := t.TempDir()
	for _, h := range cl.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := filepath.Join(remote, h.Name)
			p, err := c.Rcopy(ctx, h.Name, filepath.Join(dst, "tree"), back, CopyOptions{Preserve: true})
			if err != nil || p != filepath.Join(back, "tree."+h.Name) {
				t.Errorf("rcopy tree: %q %v", p, err)
			}
			p, err = c.Rcopy(ctx, h.Name, filepath.Join(dst, "single.conf"), back, CopyOptions{Preserve: true})
			if err != nil || p != filepath.Join(back, "single.conf."+h.Name) {
				t.Errorf("rcopy file: %q %v", p, err)
			}
		}()
	}
	wg.Wait()
	entries, err := os.ReadDir(back)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 16 {
		t.Errorf("rcopy destination holds %d entries, want 16", len(entries))
	}
	for _, h := range cl.Hosts {
		checkTree(t, filepath.Join(back, "tree."+h.Name), files, map[string]time.Time{"a.txt": old})
		p := filepath.Join(back, "single.conf."+h.Name)
		fi, err := os.Stat(p)
		if err != nil || !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o604 || readFile(t, p) != "key = value\n" {
			t.Errorf("%s: %v %v", p, fi, err)
		}
	}
	if n := dc.total.Load(); n != int64(len(cl.Hosts)) {
		t.Errorf("%d dials for copies and rcopies to %d nodes, want one each", n, len(cl.Hosts))
	}
}

func TestCopyErrors(t *testing.T) {
	cl := cluster(t, 1, 211)
	c := newClient(t, cl, nil)
	ctx := testCtx(t)
	dir := t.TempDir()
	if err := c.Copy(ctx, "node1", filepath.Join(dir, "missing"), dir, CopyOptions{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("copy of a missing file: %v", err)
	}
	if _, err := c.Rcopy(ctx, "node1", filepath.Join(dir, "missing"), dir, CopyOptions{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("rcopy of a missing file: %v", err)
	}
	if _, err := c.Rcopy(ctx, "node1", "/etc/hostname", filepath.Join(dir, "nodir"), CopyOptions{}); err == nil {
		t.Error("rcopy into a missing directory succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Copy(cctx, "node1", f, filepath.Join(dir, "g"), CopyOptions{}); err == nil {
		t.Error("copy with a cancelled context succeeded")
	}
}
