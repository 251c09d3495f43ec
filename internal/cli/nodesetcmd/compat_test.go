package nodesetcmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/cli"
)

// This file runs ClusterShell's own nodeset command and this package's
// Main side by side on a generated corpus of invocations, and compares
// standard output byte for byte, the exit status, and whether anything was
// written to standard error.
//
// Environment:
//
//	CLUSTERSHELL_NODESET   path of the reference tool (default /usr/bin/nodeset)
//	NODESET_COMPAT_CACHE   directory caching the reference tool's results
//	                       between runs (keyed by tool, config and case)
//	NODESET_COMPAT_MAX     cap on detailed mismatch reports (default 60)

// compatCase is one invocation of the corpus.
type compatCase struct {
	args  []string
	stdin *string // nil: standard input is empty
	// loose relaxes the comparison for cases whose exact output is ours
	// by design (the help text) or random (--pick): only the exit status
	// and whether stdout is empty are compared.
	loose bool
	// known, when set, says why this case is expected to differ (a
	// documented limitation); it is reported, not failed.
	known string
}

func (c compatCase) String() string {
	var b strings.Builder
	if c.stdin != nil {
		fmt.Fprintf(&b, "printf %%s %s | ", shellQuote(*c.stdin))
	}
	b.WriteString("nodeset")
	for _, a := range c.args {
		b.WriteByte(' ')
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_=/.,:@%+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// result is what one run produced.
type result struct {
	Stdout string
	Stderr string
	Code   int
}

// cached is a result as stored in the cache: bytes, not strings, so that
// output that is not UTF-8 survives JSON.
type cached struct {
	Stdout []byte `json:"stdout"`
	Stderr []byte `json:"stderr"`
	Code   int    `json:"code"`
}

// referenceTool returns the path of ClusterShell's nodeset, skipping the
// test when it is missing outside CI and failing it in CI.
func referenceTool(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CLUSTERSHELL_NODESET")
	if path == "" {
		path = "/usr/bin/nodeset"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ClusterShell's nodeset is required in CI: %v", err)
		}
		t.Skipf("ClusterShell's nodeset not installed (%v); set CI=true to make this a failure", err)
	}
	return path
}

// compatEnv prepares an isolated ClusterShell configuration directory and
// returns the environment both implementations run with.
func compatEnv(t *testing.T) (cfgdir string, env map[string]string) {
	t.Helper()
	root := t.TempDir()
	cfgdir = filepath.Join(root, "cfg")
	home := filepath.Join(root, "home")
	writeCompatConfig(t, cfgdir)
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	env = map[string]string{
		"CLUSTERSHELL_CFGDIR": cfgdir,
		"HOME":                home,
		"XDG_CONFIG_HOME":     filepath.Join(home, ".config"),
		"LC_ALL":              "C.UTF-8",
	}
	return cfgdir, env
}

// writeCompatConfig writes the group sources the corpus uses: upcall
// sources in groups.conf and groups.conf.d, YAML sources in groups.d.
// The [Main] and [local] keys override those of a system-wide
// /etc/clustershell/groups.conf, which ClusterShell always reads first.
func writeCompatConfig(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"groups.conf": `[Main]
default: local
confdir: $CFGDIR/groups.conf.d
autodir: $CFGDIR/groups.d

[local]
map: sed -n 's/^$GROUP:\(.*\)/\1/p' $CFGDIR/local.cfg
all: sed -n 's/^all:\(.*\)/\1/p' $CFGDIR/local.cfg
list: sed -n 's/^\([0-9A-Za-z_-]*\):.*/\1/p' $CFGDIR/local.cfg

[rev]
map: sed -n 's/^$GROUP:\(.*\)/\1/p' $CFGDIR/rev.cfg
list: sed -n 's/^\([0-9A-Za-z_-]*\):.*/\1/p' $CFGDIR/rev.cfg
reverse: awk -v n="$NODE" '$1 == n { print $2 }' $CFGDIR/rev.pairs
`,
		"local.cfg": `adm: mgmt[1-2]
login: login[1-2]
compute: node[1-32]
gpu: node[29-32]
io: io[1-4]
rack1: node[1-16]
rack2: node[17-32]
web: web[01-04]
all: mgmt[1-2],login[1-2],node[1-32],io[1-4],web[01-04]
`,
		"rev.cfg": `even: x[2-20/2]
odd: x[1-19/2]
low: x[1-5]
all: x[1-20]
`,
		"rev.pairs": revPairs(),
		"alt/groups.conf": `[Main]
default: alpha
autodir: $CFGDIR/yaml

[beta]
map: echo "b[1-2]"
list: echo x
`,
		"alt/yaml/alpha.yaml": `alpha:
  alpha: 'a[1-4]'
  odd: 'a[1,3]'
  all: 'a[1-4]'
`,
		"bad/groups.conf": `[Main]
default: nope
`,
		"groups.conf.d/nolist.conf": `[nolist]
map: echo "m[1-3]"
`,
		"groups.d/cluster.yaml": `yml:
  compute: 'node[1-32]'
  gpu: ['node[29-32]', 'gpu1']
  storage: 'io[1-4]'
  cpu: '@yml:compute!@yml:gpu'
  all: 'node[1-32],io[1-4],gpu1'
roles:
  web: 'web[01-04]'
  db: 'db[1-2]'
  front: 'web[01-02],db1'
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// revPairs lists "node group" pairs for the reverse upcall of source rev,
// matching rev.cfg.
func revPairs() string {
	var b strings.Builder
	for i := 1; i <= 20; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, "x%d even\n", i)
		} else {
			fmt.Fprintf(&b, "x%d odd\n", i)
		}
		if i <= 5 {
			fmt.Fprintf(&b, "x%d low\n", i)
		}
		fmt.Fprintf(&b, "x%d all\n", i)
	}
	return b.String()
}

// runReference runs ClusterShell's nodeset on c.
func runReference(ctx context.Context, tool string, env map[string]string, c compatCase) result {
	cmd := exec.CommandContext(ctx, tool, c.args...)
	cmd.Env = mergeEnv(env)
	if c.stdin != nil {
		cmd.Stdin = strings.NewReader(*c.stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		code = -1
		errb.WriteString(err.Error())
	}
	return result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

func mergeEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := env[k]; ok || k == "LANG" || k == "LC_CTYPE" {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runOurs runs Main on c; a panic is reported as a result, so that one
// crash does not hide the other cases.
func runOurs(c compatCase) (res result) {
	defer func() {
		if p := recover(); p != nil {
			res = result{Stderr: fmt.Sprintf("panic: %v", p), Code: -2}
		}
	}()
	var out, errb bytes.Buffer
	in := ""
	if c.stdin != nil {
		in = *c.stdin
	}
	code := Main(c.args, cli.Stdio{In: strings.NewReader(in), Out: &out, Err: &errb})
	return result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// referenceResults runs the reference tool on every case with bounded
// concurrency, using the optional on-disk cache.
func referenceResults(t *testing.T, tool string, env map[string]string, cfgdir string, cases []compatCase) []result {
	t.Helper()
	cacheDir := os.Getenv("NODESET_COMPAT_CACHE")
	salt := cacheSalt(t, tool, cfgdir)
	res := make([]result, len(cases))
	workers := max(2, min(8, runtime.NumCPU()*2))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		srvDir := t.TempDir()
		go func() {
			defer wg.Done()
			var srv *forkServer
			if os.Getenv("NODESET_COMPAT_EXEC") == "" {
				var err error
				if srv, err = startForkServer(tool, env, srvDir); err != nil {
					t.Logf("running the reference tool directly: %v", err)
					srv = nil
				} else {
					defer srv.close()
				}
			}
			for i := range next {
				c := cases[i]
				var key string
				if cacheDir != "" {
					key = cacheKey(salt, c)
					if b, err := os.ReadFile(filepath.Join(cacheDir, key)); err == nil {
						var e cached
						if json.Unmarshal(b, &e) == nil {
							res[i] = result{string(e.Stdout), string(e.Stderr), e.Code}
							continue
						}
					}
				}
				if srv != nil {
					r, err := srv.run(c)
					if err == nil {
						res[i] = r
					} else {
						res[i] = result{Stderr: "fork server: " + err.Error(), Code: -1}
					}
				} else {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					res[i] = runReference(ctx, tool, env, c)
					cancel()
				}
				if cacheDir != "" && res[i].Code >= 0 {
					e := cached{[]byte(res[i].Stdout), []byte(res[i].Stderr), res[i].Code}
					if b, err := json.Marshal(e); err == nil {
						_ = os.MkdirAll(cacheDir, 0o755)
						_ = os.WriteFile(filepath.Join(cacheDir, key), b, 0o644)
					}
				}
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	return res
}

// cacheSalt identifies the reference tool and the configuration, so a
// cached result is reused only for the same tool and groups.
func cacheSalt(t *testing.T, tool, cfgdir string) string {
	h := sha256.New()
	fmt.Fprintln(h, "v2", tool)
	if fi, err := os.Stat(tool); err == nil {
		fmt.Fprintln(h, fi.Size(), fi.ModTime().UnixNano())
	}
	if b, err := os.ReadFile("/etc/clustershell/groups.conf"); err == nil {
		h.Write(b)
	}
	_ = filepath.WalkDir(cfgdir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(cfgdir, p)
			b, _ := os.ReadFile(p)
			fmt.Fprintf(h, "%s\x00%s\x00", rel, b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

func cacheKey(salt string, c compatCase) string {
	h := sha256.New()
	h.Write([]byte(salt))
	for _, a := range c.args {
		fmt.Fprintf(h, "\x00%d:%s", len(a), a)
	}
	if c.stdin != nil {
		fmt.Fprintf(h, "\x01%s", *c.stdin)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// TestCompatWithClusterShell compares Main with ClusterShell 1.9's nodeset
// on the generated corpus.
func TestCompatWithClusterShell(t *testing.T) {
	tool := referenceTool(t)
	cfgdir, env := compatEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	cases := compatCorpus()
	for i := range cases {
		for j, a := range cases[i].args {
			cases[i].args[j] = strings.ReplaceAll(a, "{CFGDIR}", cfgdir)
		}
	}
	if len(cases) < 1000 {
		t.Fatalf("corpus has %d cases, want at least 1000", len(cases))
	}
	want := referenceResults(t, tool, env, cfgdir, cases)

	maxReports := 60
	if v := os.Getenv("NODESET_COMPAT_MAX"); v != "" {
		fmt.Sscan(v, &maxReports)
	}
	failed, known := 0, 0
	withStderr, sameStderr := 0, 0 // stderr text is compared for information only
	for i, c := range cases {
		w := want[i]
		if w.Code < 0 {
			t.Fatalf("reference tool failed to run: %s: %s", c, w.Stderr)
		}
		g := runOurs(c)
		if w.Stderr != "" && g.Stderr != "" {
			withStderr++
			if w.Stderr == g.Stderr {
				sameStderr++
			} else if os.Getenv("NODESET_COMPAT_STDERR") != "" {
				t.Logf("case %d: %s: stderr differs:\n  want %q\n   got %q", i, c, clip(w.Stderr), clip(g.Stderr))
			}
		}
		if sameResult(c, w, g) {
			if c.known != "" {
				t.Errorf("case %d: %s: listed as a known difference (%s) but now matches; remove the mark", i, c, c.known)
			}
			continue
		}
		if c.known != "" {
			known++
			t.Logf("case %d: %s: known difference: %s", i, c, c.known)
			continue
		}
		failed++
		if failed <= maxReports {
			t.Errorf("case %d: %s\n  want exit %d stdout %q stderr %q\n   got exit %d stdout %q stderr %q",
				i, c, w.Code, clip(w.Stdout), clip(w.Stderr), g.Code, clip(g.Stdout), clip(g.Stderr))
		}
	}
	t.Logf("%d cases, %d mismatches, %d known differences; stderr text identical in %d of %d cases where both wrote to stderr",
		len(cases), failed, known, sameStderr, withStderr)
	if failed > 0 {
		t.Errorf("%d of %d cases differ from ClusterShell's nodeset", failed, len(cases))
	}
}

func sameResult(c compatCase, want, got result) bool {
	if want.Code != got.Code {
		return false
	}
	if (want.Stderr == "") != (got.Stderr == "") {
		return false
	}
	if c.loose {
		return (want.Stdout == "") == (got.Stdout == "")
	}
	return want.Stdout == got.Stdout
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
