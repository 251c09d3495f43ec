package runcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/muster-sh/muster/internal/cli"
)

// clushPath returns the real clush, skipping the test when it is missing
// outside CI and failing in CI.
func clushPath(t *testing.T) string {
	t.Helper()
	p, err := osexec.LookPath("clush")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("clush (ClusterShell) is required in CI: %v", err)
		}
		t.Skip("clush not installed")
	}
	return p
}

type result struct {
	out, err string
	rc       int
}

func runClush(t *testing.T, path string, args []string) result {
	t.Helper()
	return runClushIn(t, t.TempDir(), path, args)
}

func runClushIn(t *testing.T, dir, path string, args []string) result {
	t.Helper()
	cmd := osexec.Command(path, args...)
	cmd.Stdin = nil // /dev/null: not a terminal, forwarded (empty)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Dir = dir
	err := cmd.Run()
	rc := 0
	if ee, ok := err.(*osexec.ExitError); ok {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), rc}
}

// runBoth runs clush (in an empty directory) and muster (in-process, in
// the package's directory: the cases it serves do not depend on the
// working directory, and t.Chdir would forbid t.Parallel) at the same
// time, so that each case costs the slower of the two, not their sum.
func runBoth(t *testing.T, clush string, args []string) (want, got result) {
	t.Helper()
	dir := t.TempDir()
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		cmd := osexec.Command(clush, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr, cmd.Dir = &out, &errb, dir
		err := cmd.Run()
		want.out, want.err = out.String(), errb.String()
		var ee *osexec.ExitError
		switch {
		case errors.As(err, &ee):
			want.rc = ee.ExitCode()
		case err != nil:
			werr = err
		}
	}()
	var out, errb bytes.Buffer
	got.rc = run(context.Background(), "clush", args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	got.out, got.err = out.String(), errb.String()
	<-done
	if werr != nil {
		t.Fatal(werr)
	}
	return want, got
}

func runMuster(t *testing.T, args []string) result {
	t.Helper()
	return runMusterIn(t, t.TempDir(), args)
}

func runMusterIn(t *testing.T, dir string, args []string) result {
	t.Helper()
	var out, errb bytes.Buffer
	t.Chdir(dir)
	rc := run(context.Background(), "clush", args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	return result{out.String(), errb.String(), rc}
}

// progress strips the progress meter ("clush: 12/1000\r" and its erasure):
// when it appears and the counts it shows depend on timing.
var progress = regexp.MustCompile(`clush: *\d+/\d+\r|(?m) +\r`)

func sortedLines(s string) []string {
	l := strings.Split(s, "\n")
	slices.Sort(l)
	return l
}

type compatCase struct {
	name string
	args []string
	// ordered: stdout order is deterministic in clush too (gathered or -L);
	// otherwise lines are compared as sorted sets (completion order).
	ordered bool
}

func TestCompatWithClush(t *testing.T) {
	clush := clushPath(t)
	differ := `case %h in n1|n5) echo A; echo B;; n2) echo A;; *) echo C; echo D >&2;; esac`
	fail := `echo out %h; case %h in n3|n4) exit 3;; n7) exit 1;; esac`
	cases := []compatCase{
		{"plain", []string{"-R", "exec", "-w", "n[1-5]", "echo hello %h"}, false},
		{"plain-1", []string{"-R", "exec", "-w", "n1", "echo", "hi"}, true},
		{"exclude", []string{"-R", "exec", "-w", "n[1-10]", "-x", "n[3-4],n7", "echo %h %n"}, false},
		{"nolabel", []string{"-R", "exec", "-N", "-w", "n[1-5]", "echo same"}, true},
		{"b", []string{"-R", "exec", "-b", "-w", "n[1-9],m[01-03]", differ}, true},
		{"b-nolabel", []string{"-R", "exec", "-b", "-N", "-w", "n[1-9]", differ}, true},
		{"b-1node", []string{"-R", "exec", "-b", "-w", "foo", "echo one; printf two"}, true},
		{"b-fail", []string{"-R", "exec", "-b", "-w", "n[1-8]", fail}, true},
		{"b-fail-S", []string{"-R", "exec", "-S", "-b", "-w", "n[1-8]", fail}, true},
		{"S-direct", []string{"-R", "exec", "-S", "-w", "n[1-8]", fail}, false},
		{"S-zero", []string{"-R", "exec", "-S", "-w", "n[1-3]", "true"}, true},
		{"L", []string{"-R", "exec", "-L", "-w", "n[1-9],m[01-03]", differ}, true},
		{"L-fail", []string{"-R", "exec", "-L", "-w", "n[1-8]", fail}, true},
		{"L-nolabel", []string{"-R", "exec", "-L", "-N", "-w", "n[1-9]", differ}, true},
		{"bL", []string{"-R", "exec", "-bL", "-w", "n[1-9],m[01-03]", differ}, true},
		{"bL-nolabel", []string{"-R", "exec", "-b", "-L", "-N", "-w", "n[1-9]", differ}, true},
		{"B", []string{"-R", "exec", "-B", "-w", "n[1-6]", differ}, true},
		{"signal", []string{"-R", "exec", "-S", "-b", "-w", "n[1-2]", "kill -9 $$"}, true},
		{"timeout-S", []string{"-R", "exec", "-S", "-b", "-u", "3", "-w", "n[1-4]", "case %h in n2|n4) sleep 30;; esac; echo done"}, true},
		{"timeout", []string{"-R", "exec", "-u", "3", "-w", "n[1-4]", "case %h in n3) sleep 30;; esac; echo done"}, false},
		{"f1", []string{"-R", "exec", "-f", "1", "-b", "-w", "n[1-20]", "echo %h"}, true},
		{"1000-b", []string{"-R", "exec", "-b", "-w", "node[1-1000]", "echo same; case %h in node1??) echo hundred;; esac"}, true},
		{"1000-q", []string{"-R", "exec", "-q", "-b", "-w", "node[1-1000]", "echo %h | cut -c1-5"}, true},
		{"1000-direct", []string{"-R", "exec", "-w", "node[1-1000]", "echo %h"}, false},
		{"hosts", []string{"-R", "exec", "-b", "-w", "n[1-3],m5", "echo %hosts; echo %{hosts} >&2; exit 2"}, true},
		{"hosts-L", []string{"-R", "exec", "-L", "-w", "n[1-3]", "echo %hosts %n"}, true},
		{"nonode", []string{"-R", "exec", "echo"}, true},
		{"badopt", []string{"-R", "exec", "-Z", "-w", "n1", "echo"}, true},
		{"badint", []string{"-R", "exec", "-f", "x", "-w", "n1", "echo"}, true},
		{"badworker", []string{"-R", "nope", "-w", "n1", "echo"}, true},
		{"badpattern", []string{"-R", "exec", "-w", "n1", "echo 50%"}, true},
		{"badname", []string{"-R", "exec", "-w", "n1", "echo %hostname"}, true},
		{"empty", []string{"-R", "exec", "-w", "n[1-2]"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want, got := runBoth(t, clush, c.args)
			want.err = progress.ReplaceAllString(want.err, "")
			got.err = progress.ReplaceAllString(got.err, "")
			if got.rc != want.rc {
				t.Errorf("exit code %d, clush %d", got.rc, want.rc)
			}
			if c.ordered {
				if got.out != want.out {
					t.Errorf("stdout differs\nmuster:\n%s\nclush:\n%s", got.out, want.out)
				}
			} else if !slices.Equal(sortedLines(got.out), sortedLines(want.out)) {
				t.Errorf("stdout lines differ\nmuster:\n%s\nclush:\n%s", got.out, want.out)
			}
			if !slices.Equal(sortedLines(got.err), sortedLines(want.err)) {
				t.Errorf("stderr differs\nmuster:\n%q\nclush:\n%q", got.err, want.err)
			}
		})
	}
}

func TestCompatStdinBroadcast(t *testing.T) {
	clush := clushPath(t)
	args := []string{"-R", "exec", "-b", "-w", "n[1-4]", "cat; echo %h"}
	cmd := osexec.Command(clush, args...)
	cmd.Stdin = strings.NewReader("line1\nline2\n")
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	rc := run(context.Background(), "clush", args, cli.Stdio{In: strings.NewReader("line1\nline2\n"), Out: &out, Err: &errb})
	if rc != 0 || out.String() != string(want) {
		t.Fatalf("rc %d stdout\n%s\nclush:\n%s\nstderr %s", rc, out.String(), want, errb.String())
	}
}

func TestCompatGroups(t *testing.T) {
	clush := clushPath(t)
	dir := t.TempDir()
	cfg := dir + "/local.cfg"
	if err := os.WriteFile(cfg, []byte("web: w[1-3]\ndb: d[1-2]\nall: w[1-3],d[1-2],x1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := dir + "/groups.conf"
	text := fmt.Sprintf(`[Main]
default: local

[local]
map: sed -n 's/^$GROUP:\(.*\)/\1/p' %[1]s
all: sed -n 's/^all:\(.*\)/\1/p' %[1]s
list: sed -n 's/^\([0-9A-Za-z_-]*\):.*/\1/p' %[1]s

[other]
map: echo o[1-2]
list: echo og
`, cfg)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	hosts := dir + "/hosts"
	if err := os.WriteFile(hosts, []byte("h1 h2\nh[3-4]\n\n  @web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := []string{"--groupsconf", conf, "-R", "exec"}
	for _, c := range []compatCase{
		{"w-group", append(g, "-b", "-w", "@web", "echo %h | cut -c1"), true},
		{"g-X", append(g, "-b", "-w", "@web", "-g", "db", "-X", "web", "echo %h"), true},
		{"all", append(g, "-b", "-a", "-x", "@db", "echo hi"), true},
		{"source", append(g, "-L", "-s", "other", "-g", "og", "echo o"), true},
		{"prefixed", append(g, "-b", "-w", "@other:og,@nope", "echo o"), true},
		{"regroup", append(g, "-b", "-r", "-w", "w[1-3],d1,x1", "echo x; [ %h = x1 ] && exit 2; true"), true},
		{"regroup-bL", append(g, "-bL", "-r", "-w", "w[1-3],d1", "echo x"), true},
		{"regroup-G", append(g, "-b", "-r", "-s", "other", "-G", "-w", "o[1-2]", "echo x"), true},
		{"regroup-source", append(g, "-b", "-r", "-s", "other", "-w", "o[1-2],w1", "echo x"), true},
		{"hostfile", append(g, "-b", "--hostfile", hosts, "-x", "h2", "echo x"), true},
		{"hostfile-missing", append(g, "-b", "--machinefile", dir+"/nope", "echo x"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := runClush(t, clush, c.args)
			got := runMuster(t, c.args)
			if got != want {
				t.Errorf("muster %+v\nclush %+v", got, want)
			}
		})
	}
}

func TestCompatOutdir(t *testing.T) {
	clush := clushPath(t)
	read := func(dir string) map[string]string {
		m := map[string]string{}
		for _, sub := range []string{"o", "e"} {
			ents, _ := os.ReadDir(dir + "/" + sub)
			for _, e := range ents {
				b, _ := os.ReadFile(dir + "/" + sub + "/" + e.Name())
				m[sub+"/"+e.Name()] = string(b)
			}
		}
		return m
	}
	cdir, mdir := t.TempDir(), t.TempDir()
	args := func(dir string) []string {
		return []string{"-R", "exec", "--outdir", dir + "/o", "--errdir", dir + "/e", "-w", "n[1-3]",
			"echo o%h; echo e >&2; printf x; [ %h = n2 ] || echo more"}
	}
	want := runClush(t, clush, args(cdir))
	got := runMuster(t, args(mdir))
	if !slices.Equal(sortedLines(got.out), sortedLines(want.out)) || got.rc != want.rc {
		t.Fatalf("muster %+v\nclush %+v", got, want)
	}
	wf, gf := read(cdir), read(mdir)
	if len(wf) != 6 || fmt.Sprint(wf) != fmt.Sprint(gf) {
		t.Fatalf("files: muster %q\nclush %q", gf, wf)
	}
}

func TestCompatCopy(t *testing.T) {
	clush := clushPath(t)
	setup := func() string {
		dir := t.TempDir()
		os.WriteFile(dir+"/f", []byte("one\n"), 0o644)
		os.WriteFile(dir+"/g", []byte("two\n"), 0o600)
		os.Mkdir(dir+"/d", 0o755)
		os.Mkdir(dir+"/tree", 0o755)
		os.WriteFile(dir+"/tree/x", []byte("x"), 0o644)
		return dir
	}
	files := func(dir string) string {
		var b strings.Builder
		for _, sub := range []string{"d", "."} {
			ents, _ := os.ReadDir(dir + "/" + sub)
			for _, e := range ents {
				data, _ := os.ReadFile(dir + "/" + sub + "/" + e.Name())
				fmt.Fprintf(&b, "%s/%s %v %q\n", sub, e.Name(), e.IsDir(), data)
			}
		}
		return b.String()
	}
	for _, c := range []compatCase{
		{"copy", []string{"-R", "exec", "-w", "n[1-3]", "-c", "f", "--dest", "d/f.%h"}, true},
		{"copy-v-many", []string{"-R", "exec", "-v", "-w", "n1", "-c", "f", "g", "--dest", "d/"}, true},
		{"copy-dir-p", []string{"-R", "exec", "-w", "n1", "-p", "-c", "tree", "--dest", "d/tree.%h"}, true},
		{"copy-default-dest", []string{"-R", "exec", "-w", "n1", "--copy", "d/../f"}, true},
		{"copy-missing", []string{"-R", "exec", "-w", "n[1-2]", "-c", "nope"}, true},
		{"copy-fails", []string{"-R", "exec", "-w", "n[1-2]", "-c", "f", "--dest", "nodir/x"}, true},
		{"copy-noarg", []string{"-R", "exec", "-w", "n1", "-c"}, true},
		{"rcopy-notdir", []string{"-R", "exec", "-w", "n1", "--rcopy", "f", "--dest", "g"}, true},
		{"rcopy-missing", []string{"-R", "exec", "-w", "n1", "--rcopy", "f", "--dest", "nope"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cdir, mdir := setup(), setup()
			want := runClushIn(t, cdir, clush, c.args)
			got := runMusterIn(t, mdir, c.args)
			want.err = strings.ReplaceAll(progress.ReplaceAllString(want.err, ""), cdir, "DIR")
			got.err = strings.ReplaceAll(progress.ReplaceAllString(got.err, ""), mdir, "DIR")
			// copies close in completion order: compare lines as sets
			if got.rc != want.rc || !slices.Equal(sortedLines(got.out), sortedLines(want.out)) || !slices.Equal(sortedLines(got.err), sortedLines(want.err)) {
				t.Errorf("muster %+v\nclush  %+v", got, want)
			}
			if gf, wf := files(mdir), files(cdir); gf != wf {
				t.Errorf("files\nmuster:\n%s\nclush:\n%s", gf, wf)
			}
		})
	}
}

func TestCompatConfig(t *testing.T) {
	clush := clushPath(t)
	conf := t.TempDir() + "/clush.conf"
	text := "[Main]\nnode_count: no\nmaxrc = yes\n# comment\n; other comment\nfanout: 2\n\n[other]\nfanout: x\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []compatCase{
		{"conf", []string{"--conf", conf, "-R", "exec", "-b", "-w", "n[1-3]", "echo x; exit 3"}, true},
		{"conf-overridden", []string{"--conf", conf, "-O", "maxrc=no", "-O", "NODE_COUNT=yes", "-R", "exec", "-b", "-w", "n[1-3]", "echo x; exit 3"}, true},
		{"O-bad-int", []string{"-O", "fanout=abc", "-R", "exec", "-w", "n1", "echo x"}, true},
		{"O-no-value", []string{"-O", "nodecount", "-R", "exec", "-w", "n1", "echo x"}, true},
		{"O-bad-bool", []string{"-O", "maxrc=perhaps", "-R", "exec", "-w", "n1", "echo x"}, true},
		{"O-quiet", []string{"-O", "node_count=no", "-O", "verbosity=0", "-R", "exec", "-b", "-w", "n[1-3]", "echo x;exit 1"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := runClush(t, clush, c.args)
			got := runMuster(t, c.args)
			if got != want {
				t.Errorf("muster %+v\nclush  %+v", got, want)
			}
		})
	}
}

func TestCompatColor(t *testing.T) {
	clush := clushPath(t)
	cmd := "echo x; echo e >&2; [ %h = n2 ] && exit 3; true"
	for _, c := range []struct {
		compatCase
		env map[string]string
	}{
		{compatCase{"always-b", []string{"--color=always", "-R", "exec", "-b", "-w", "n[1-3]", cmd}, true}, nil},
		{compatCase{"always-L", []string{"--color", "always", "-R", "exec", "-L", "-w", "n[1-3]", cmd}, true}, nil},
		{compatCase{"always-bL", []string{"--color=always", "-R", "exec", "-bL", "-w", "n[1-3]", cmd}, true}, nil},
		{compatCase{"always-direct", []string{"--color=always", "-R", "exec", "-w", "n[1-3]", cmd}, false}, nil},
		{compatCase{"always-N", []string{"--color=always", "-R", "exec", "-N", "-b", "-w", "n[1-3]", cmd}, true}, nil},
		{compatCase{"never", []string{"--color=never", "-R", "exec", "-b", "-w", "n[1-3]", cmd}, true}, map[string]string{"CLICOLOR_FORCE": "1"}},
		{compatCase{"force", []string{"-R", "exec", "-b", "-w", "n[1-3]", cmd}, true}, map[string]string{"CLICOLOR_FORCE": "1"}},
		{compatCase{"no-color", []string{"-R", "exec", "-b", "-w", "n[1-3]", cmd}, true}, map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}},
		{compatCase{"clicolor-not-tty", []string{"-R", "exec", "-b", "-w", "n[1-3]", cmd}, true}, map[string]string{"CLICOLOR": "1"}},
		{compatCase{"bad", []string{"--color=bogus", "-R", "exec", "-w", "n1", "true"}, true}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			want := runClush(t, clush, c.args)
			got := runMuster(t, c.args)
			if got.rc != want.rc {
				t.Errorf("exit code %d, clush %d", got.rc, want.rc)
			}
			if c.ordered && got.out != want.out || !slices.Equal(sortedLines(got.out), sortedLines(want.out)) {
				t.Errorf("stdout\nmuster %q\nclush  %q", got.out, want.out)
			}
			if !slices.Equal(sortedLines(got.err), sortedLines(want.err)) {
				t.Errorf("stderr\nmuster %q\nclush  %q", got.err, want.err)
			}
		})
	}
}

// TestCompatMergedStreams runs both tools with stdout and stderr on one
// pipe: the interleaving must match too.
func TestCompatMergedStreams(t *testing.T) {
	clush := clushPath(t)
	seqs := "case %h in n1|n2) seq 1 10;; n3) seq 1 12 | sed s/5/five/;; n4) exit 2;; n5) seq 3 9;; n7) seq 300 | sed s/^1..$/x/;; n8) seq 300;; esac"
	for _, c := range []compatCase{
		{"b-fail", []string{"-R", "exec", "-b", "-w", "n[1-4]", "echo x; [ %h = n3 ] && exit 1; true"}, true},
		{"L-fail", []string{"-R", "exec", "-L", "-w", "n[1-4]", "echo x; [ %h = n3 ] && exit 1; true"}, true},
		{"diff", []string{"-R", "exec", "--diff", "-w", "n[1-8]", seqs}, true},
		{"diff-color", []string{"-R", "exec", "--diff", "--color=always", "-w", "n[1-8]", seqs}, true},
		{"diff-q", []string{"-R", "exec", "--diff", "-q", "-w", "n[1-8]", seqs}, true},
		{"diff-same", []string{"-R", "exec", "--diff", "-w", "n[1-3]", "echo same"}, true},
		{"diff-L", []string{"-R", "exec", "--diff", "-L", "-w", "n1", "true"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := osexec.Command(clush, c.args...)
			var want bytes.Buffer
			cmd.Stdout, cmd.Stderr = &want, &want
			cmd.Dir = t.TempDir()
			werr := cmd.Run()
			wrc := 0
			if ee, ok := werr.(*osexec.ExitError); ok {
				wrc = ee.ExitCode()
			}
			var got bytes.Buffer
			rc := run(context.Background(), "clush", c.args, cli.Stdio{In: strings.NewReader(""), Out: &got, Err: &got})
			w := progress.ReplaceAllString(want.String(), "")
			g := progress.ReplaceAllString(got.String(), "")
			if rc != wrc || g != w {
				t.Errorf("rc %d (clush %d)\nmuster:\n%s\nclush:\n%s", rc, wrc, g, w)
			}
		})
	}
}

func TestCompatModes(t *testing.T) {
	clush := clushPath(t)
	dir := t.TempDir()
	os.Mkdir(dir+"/clush.conf.d", 0o755)
	conf := dir + "/clush.conf"
	os.WriteFile(conf, []byte("[Main]\nconfdir: $CFGDIR/clush.conf.d /nonexistent\n"), 0o644)
	os.WriteFile(dir+"/clush.conf.d/a.conf", []byte(`[mode:pre]
command_prefix: echo "[pre]" -x
maxrc: yes

[mode:slow]
command_timeout: 5
`), 0o644)
	os.WriteFile(dir+"/clush.conf.d/b.conf", []byte("[mode:other]\nmaxrc: no\n"), 0o644)
	c := []string{"--conf", conf, "-R", "exec"}
	for _, cc := range []compatCase{
		{"prefix", append(c, "-m", "pre", "-b", "-w", "n[1-3]", "%h; exit 3"), true},
		{"timeout", append(c, "--mode=slow", "-b", "-w", "n[1-2]", "[ %h = n2 ] && sleep 30; echo x"), true},
		{"mode-over-cli", append(c, "-m", "other", "-S", "-w", "n1", "exit 4"), true},
		{"unknown", append(c, "-m", "nope", "-w", "n1", "true"), true},
	} {
		t.Run(cc.name, func(t *testing.T) {
			want := runClush(t, clush, cc.args)
			got := runMuster(t, cc.args)
			want.err = progress.ReplaceAllString(want.err, "")
			got.err = progress.ReplaceAllString(got.err, "")
			if got != want {
				t.Errorf("muster %+v\nclush  %+v", got, want)
			}
		})
	}
}

// TestCompatMatrix compares every output mode on node sets of 1, 10 and
// 1,000 nodes whose outputs are identical, differing, or failing (exit
// codes and standard error).
func TestCompatMatrix(t *testing.T) {
	clush := clushPath(t)
	outputs := []struct{ name, cmd string }{
		{"identical", "echo same; echo line2"},
		{"differing", "echo %h; case %h in *1) echo one;; *2) echo two; echo more;; esac"},
		{"failing", "echo out; echo err %h >&2; case %h in *[02468]) exit 2;; *5) echo five; exit 5;; esac"},
	}
	modes := []struct {
		name    string
		args    []string
		ordered bool
	}{
		{"direct", nil, false},
		{"b", []string{"-b"}, true},
		{"B", []string{"-B"}, true},
		{"L", []string{"-L"}, true},
		{"bL", []string{"-bL"}, true},
		{"bN", []string{"-b", "-N"}, true},
		{"LN", []string{"-L", "-N"}, true},
		{"Sb", []string{"-S", "-b"}, true},
		{"S", []string{"-S"}, false},
		{"diff", []string{"--diff"}, true},
	}
	for _, size := range []string{"n1", "n[1-10]", "node[1-1000]"} {
		for _, out := range outputs {
			for _, m := range modes {
				args := append(append([]string{"-R", "exec", "-w", size}, m.args...), out.cmd)
				t.Run(fmt.Sprintf("%s/%s/%s", size, out.name, m.name), func(t *testing.T) {
					t.Parallel()
					want, got := runBoth(t, clush, args)
					want.err = progress.ReplaceAllString(want.err, "")
					got.err = progress.ReplaceAllString(got.err, "")
					if got.rc != want.rc {
						t.Errorf("exit code %d, clush %d", got.rc, want.rc)
					}
					if m.ordered && got.out != want.out || !slices.Equal(sortedLines(got.out), sortedLines(want.out)) {
						t.Errorf("stdout differs\nmuster:\n%.2000s\nclush:\n%.2000s", got.out, want.out)
					}
					if !slices.Equal(sortedLines(got.err), sortedLines(want.err)) {
						t.Errorf("stderr differs\nmuster:\n%.2000q\nclush:\n%.2000q", got.err, want.err)
					}
				})
			}
		}
	}
}

// TestCompatOutdirModes: --outdir/--errdir files on 1,000 nodes, and with
// -b (where clush writes no file at all).
func TestCompatOutdirModes(t *testing.T) {
	clush := clushPath(t)
	read := func(dir string) map[string]string {
		m := map[string]string{}
		for _, sub := range []string{"o", "e"} {
			ents, _ := os.ReadDir(dir + "/" + sub)
			for _, e := range ents {
				b, _ := os.ReadFile(dir + "/" + sub + "/" + e.Name())
				m[sub+"/"+e.Name()] = string(b)
			}
		}
		return m
	}
	for _, c := range []struct {
		name  string
		args  []string
		files int
	}{
		{"1000", []string{"-w", "node[1-1000]", "echo o%h; echo e%h >&2; case %h in *7) exit 7;; esac"}, 2000},
		{"outdir-only", []string{"-w", "n[1-5]", "echo o%h; echo e >&2"}, 5},
		{"with-b", []string{"-b", "-w", "n[1-5]", "echo o%h; echo e >&2; exit 1"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cdir, mdir := t.TempDir(), t.TempDir()
			args := func(dir string) []string {
				a := []string{"-R", "exec", "--outdir", dir + "/o"}
				if c.name != "outdir-only" {
					a = append(a, "--errdir", dir+"/e")
				}
				return append(a, c.args...)
			}
			want := runClush(t, clush, args(cdir))
			got := runMuster(t, args(mdir))
			want.err = progress.ReplaceAllString(want.err, "")
			got.err = progress.ReplaceAllString(got.err, "")
			if got.rc != want.rc || !slices.Equal(sortedLines(got.out), sortedLines(want.out)) || !slices.Equal(sortedLines(got.err), sortedLines(want.err)) {
				t.Fatalf("muster %.1000v\nclush %.1000v", got, want)
			}
			wf, gf := read(cdir), read(mdir)
			if len(wf) != c.files || fmt.Sprint(wf) != fmt.Sprint(gf) {
				t.Fatalf("files: muster %d, clush %d (want %d)\n%.500q\n%.500q", len(gf), len(wf), c.files, gf, wf)
			}
			for _, sub := range []string{"/o", "/e"} {
				_, werr := os.Stat(cdir + sub)
				_, gerr := os.Stat(mdir + sub)
				if (werr == nil) != (gerr == nil) {
					t.Fatalf("directory %s: muster %v, clush %v", sub, gerr, werr)
				}
			}
		})
	}
}
