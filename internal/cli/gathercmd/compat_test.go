package gathercmd

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/cli"
)

const realClubak = "/usr/bin/clubak"

// compatCase is one comparison of muster gather against clubak.
type compatCase struct {
	name  string
	args  []string
	input []byte
	// rawSets: gathered raw keys, which clubak joins in Python set order
	// (hash order); lines are compared with their comma lists sorted.
	rawSets bool
}

// inputs builds the deterministic input corpus.
func compatInputs() []struct {
	name    string
	data    []byte
	raw     bool // keys are not all node names
	badLine bool
} {
	r := rand.New(rand.NewPCG(1, 2))
	type in = struct {
		name    string
		data    []byte
		raw     bool
		badLine bool
	}
	var ins []in
	// interleave writes lines of per-node outputs in a random interleaving
	// that keeps each node's line order.
	interleave := func(keys []string, outs [][]string, sep string) []byte {
		pos := make([]int, len(keys))
		var live []int
		for i := range keys {
			if len(outs[i]) > 0 {
				live = append(live, i)
			}
		}
		var b bytes.Buffer
		for len(live) > 0 {
			x := r.IntN(len(live))
			i := live[x]
			fmt.Fprintf(&b, "%s%s%s\n", keys[i], sep, outs[i][pos[i]])
			pos[i]++
			if pos[i] == len(outs[i]) {
				live = slices.Delete(live, x, x+1)
			}
		}
		return b.Bytes()
	}
	nodes := func(prefix string, n int) []string {
		var k []string
		for i := 1; i <= n; i++ {
			k = append(k, fmt.Sprintf("%s%d", prefix, i))
		}
		return k
	}
	same := func(n, lines int) [][]string {
		o := make([][]string, n)
		for i := range o {
			for j := range lines {
				o[i] = append(o[i], fmt.Sprintf(" line %d", j))
			}
		}
		return o
	}
	variants := func(n, lines, k int) [][]string {
		o := make([][]string, n)
		for i := range o {
			v := r.IntN(k)
			for j := range lines {
				if j%3 == 2 {
					o[i] = append(o[i], fmt.Sprintf(" v%d line %d", v, j))
				} else {
					o[i] = append(o[i], fmt.Sprintf(" line %d", j))
				}
			}
			if v%2 == 1 {
				o[i] = append(o[i], " extra")
			}
		}
		return o
	}
	ins = append(ins,
		in{name: "empty", data: nil},
		in{name: "one", data: []byte("node1: hello\n")},
		in{name: "identical-3x1", data: interleave(nodes("node", 3), same(3, 1), ":")},
		in{name: "identical-1000x3", data: interleave(nodes("node", 1000), same(1000, 3), ":")},
		in{name: "differ-50x6", data: interleave(nodes("node", 50), variants(50, 6, 4), ": ")},
		in{name: "differ-300x12", data: interleave(nodes("n", 300), variants(300, 12, 7), ":")},
		in{name: "padded", data: interleave([]string{"node01", "node1", "node001", "node10", "node2"}, variants(5, 4, 2), ":")},
		in{name: "multidim", data: interleave([]string{"da1c1", "da1c2", "da2c1", "da2c2", "x"}, variants(5, 3, 2), ":")},
		in{name: "nodeset-keys", data: []byte("node[1-3]: a\nnode[2-4]: b\nnode5,node7: a\nnode[1-3]: c\n")},
		in{name: "raw-keys", data: interleave([]string{"k[", "alpha]", "be:ta", "gam ma"}, variants(4, 3, 2), ":"), raw: true},
		in{name: "raw-after-nodes", data: []byte("node1: a\nnode2: a\nbad[key: a\nnode3: b\nnode1: c\n"), raw: true},
		in{name: "raw-many", data: interleave(func() []string {
			var k []string
			for i := range 40 {
				k = append(k, fmt.Sprintf("h[%d", i))
			}
			return k
		}(), variants(40, 4, 3), ":"), raw: true},
		in{name: "spaces-cr", data: []byte("  node1 \t:  x \r\nnode2:  x \r\n\tnode3: y\r\r\nnode1:\nnode2:\n")},
		in{name: "sep-in-content", data: []byte("node1: a:b:c\nnode2: a:b:c\nnode3:::\n")},
		in{name: "no-newline-at-end", data: []byte("node1: a\nnode2: b")},
		in{name: "missing-sep", data: []byte("node1: a\nnode2 b\nnode3: c\n"), badLine: true},
		in{name: "empty-line", data: []byte("node1: a\n\nnode3: c\n"), badLine: true},
		in{name: "empty-key", data: []byte("node1: a\n  : c\n"), badLine: true},
		in{name: "pipe-sep", data: []byte("node1| a\nnode2| a\nnode3| b: c\n")},
		in{name: "example-groups", data: interleave(nodes("example", 200), variants(200, 3, 3), ": ")},
		in{name: "utf8", data: []byte("node1: héllo wörld\nnode2: héllo wörld\nnode3: ünïcode\n")},
		in{name: "trace-shape", data: []byte("n1: a\nn2: a\nn3: a\nn1: b\nn2: b\nn3: c\nn1: d\nn2: e\nn3: c\nn3: f\n")},
	)
	return ins
}

func compatOptions() [][]string {
	return [][]string{
		{}, {"-b"}, {"-c"}, {"-B"}, {"-L"}, {"-N"}, {"-F"}, {"-T"}, {"-q"}, {"-v"}, {"-d"},
		{"-b", "-L"}, {"-bN"}, {"-L", "-N"}, {"-b", "-q"}, {"-T", "-L"}, {"-T", "-N"}, {"-F", "-b"},
		{"-F", "-T"}, {"-F", "-L"}, {"--diff"}, {"--diff", "-q"}, {"--diff", "-L"},
		{"--interpret-keys=never"}, {"--interpret-keys=never", "-b"}, {"--interpret-keys", "always", "-b"},
		{"--interpret-keys=auto", "-L"}, {"--color=always"}, {"--color=always", "-b"}, {"--color=always", "-L"},
		{"--color=always", "--diff"}, {"--color=never", "-b"}, {"-r"}, {"-r", "-G"}, {"-r", "-L"},
		{"-r", "-s", "local"}, {"-S", "|"}, {"-S|", "-b"}, {"--separator=: "}, {"-S", ""},
		{"-T", "--color=always"}, {"-b", "-v", "-q"}, {"-bLN"}, {"--dsh", "--diff", "--color=always", "-q"},
		{"--bogus"}, {"-z"}, {"-S"}, {"--color=rainbow"}, {"--d"}, {"-s", "-x", "-b"}, {"stop", "-b"},
		{"--", "-b"}, {"--debug=1"}, {"-b", "--outdir", "/nonexistent"},
	}
}

func compatCases() []compatCase {
	var cases []compatCase
	ins := compatInputs()
	opts := compatOptions()
	for ii, in := range ins {
		for oi, args := range opts {
			// Every input with the first option sets, and a rotating
			// fifth of the others (clubak costs ~100 ms a run).
			if oi >= 8 && (oi+ii)%5 != 0 {
				continue
			}
			raw := in.raw || slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, "never") })
			gathers := slices.ContainsFunc(args, func(a string) bool {
				return strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsAny(a, "bcBr") ||
					a == "--diff" || a == "--dsh"
			})
			cases = append(cases, compatCase{
				name:    fmt.Sprintf("%s/%s", in.name, strings.Join(args, "_")),
				args:    args,
				input:   in.data,
				rawSets: raw && gathers,
			})
		}
	}
	return cases
}

// commaList matches lists of keys: words (not starting with the diff
// markers "+" and "-", or a "(count)") joined by single spaces, then commas.
var commaList = func() *regexp.Regexp {
	w := `[^,\s:\x1b+(-][^,\s:\x1b]*`
	item := w + `(?: ` + w + `)*`
	return regexp.MustCompile(item + `(?:,` + item + `)+`)
}()

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// sortCommaLists sorts the items of every comma-separated list, between
// ANSI escape sequences.
func sortCommaLists(b []byte) []byte {
	var out []byte
	last := 0
	sortIn := func(seg []byte) []byte {
		return commaList.ReplaceAllFunc(seg, func(m []byte) []byte {
			items := strings.Split(string(m), ",")
			slices.Sort(items)
			return []byte(strings.Join(items, ","))
		})
	}
	for _, loc := range ansiEscape.FindAllIndex(b, -1) {
		out = append(out, sortIn(b[last:loc[0]])...)
		out = append(out, b[loc[0]:loc[1]]...)
		last = loc[1]
	}
	return append(out, sortIn(b[last:])...)
}

type result struct {
	out, err []byte
	code     int
}

func runReal(ctx context.Context, c compatCase) (result, error) {
	cmd := exec.CommandContext(ctx, realClubak, c.args...)
	cmd.Stdin = bytes.NewReader(c.input)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	var env []string
	for _, e := range os.Environ() {
		name, _, _ := strings.Cut(e, "=")
		switch name {
		case "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "PYTHONHASHSEED":
			continue
		}
		env = append(env, e)
	}
	cmd.Env = append(env, "PYTHONHASHSEED=0")
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return result{}, err
	}
	return result{out.Bytes(), errb.Bytes(), code}, nil
}

func runOurs(c compatCase) result {
	var out, errb bytes.Buffer
	code := Main(c.args, cli.Stdio{In: bytes.NewReader(c.input), Out: &out, Err: &errb})
	return result{out.Bytes(), errb.Bytes(), code}
}

// unsetColorEnv clears the variables that change clubak's colour choice.
func unsetColorEnv(t *testing.T) {
	for _, v := range []string{"NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func TestCompatWithClubak(t *testing.T) {
	if _, err := os.Stat(realClubak); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", realClubak, err)
		}
		t.Skipf("%s not installed: %v", realClubak, err)
	}
	unsetColorEnv(t)
	cases := compatCases()
	if len(cases) < 200 {
		t.Fatalf("corpus has %d cases, want at least 200", len(cases))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	reals := make([]result, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			reals[i], errs[i] = runReal(ctx, c)
		}()
	}
	wg.Wait()
	mismatches := 0
	for i, c := range cases {
		if errs[i] != nil {
			t.Fatalf("%s: running clubak: %v", c.name, errs[i])
		}
		want, got := reals[i], runOurs(c)
		wo, go_ := want.out, got.out
		if c.rawSets {
			wo, go_ = sortCommaLists(wo), sortCommaLists(go_)
		}
		bad := false
		if !bytes.Equal(wo, go_) {
			t.Errorf("%s: stdout differs\nclubak:\n%q\nmuster:\n%q", c.name, clip(want.out), clip(got.out))
			bad = true
		}
		if want.code != got.code {
			t.Errorf("%s: exit code %d, clubak %d (clubak stderr %q)", c.name, got.code, want.code, want.err)
			bad = true
		}
		if (len(want.err) > 0) != (len(got.err) > 0) {
			t.Errorf("%s: stderr %q, clubak stderr %q", c.name, clip(got.err), clip(want.err))
			bad = true
		}
		if bad {
			mismatches++
		}
	}
	t.Logf("%d cases, %d mismatches", len(cases), mismatches)
}

func clip(b []byte) []byte {
	if len(b) > 600 {
		return append(b[:600:600], "..."...)
	}
	return b
}

// TestCompatGroupsConf compares -r, -s and -G with a groups.conf of its own.
func TestCompatGroupsConf(t *testing.T) {
	if _, err := os.Stat(realClubak); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", realClubak, err)
		}
		t.Skipf("%s not installed: %v", realClubak, err)
	}
	unsetColorEnv(t)
	dir := t.TempDir()
	auto := filepath.Join(dir, "groups.d")
	if err := os.Mkdir(auto, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "groups.conf")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(conf, "[Main]\ndefault: rack\nautodir: "+auto+"\n")
	write(filepath.Join(auto, "test.yaml"), "rack:\n  r1: 'node[1-10]'\n  r2: 'node[11-20]'\n  all: 'node[1-20]'\nrole:\n  web: 'node[1-5]'\n  db: 'node[6-8]'\n")
	var in bytes.Buffer
	for i := 1; i <= 24; i++ {
		fmt.Fprintf(&in, "node%d: %s\n", i, map[bool]string{true: "up", false: "down"}[i%7 != 0])
	}
	in.WriteString("@web: extra\n")
	for _, args := range [][]string{
		{"-r"}, {"-r", "-G"}, {"-r", "-s", "role"}, {"-r", "-s", "role", "-G"}, {"-r", "-L"},
		{"-r", "-T"}, {"-b", "-G"}, {"-r", "--diff"}, {"-r", "-s", "nosuch"},
	} {
		c := compatCase{name: strings.Join(args, "_"), args: append([]string{"--groupsconf", conf}, args...), input: in.Bytes()}
		want, err := runReal(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		got := runOurs(c)
		if !bytes.Equal(want.out, got.out) || want.code != got.code || (len(want.err) > 0) != (len(got.err) > 0) {
			t.Errorf("%s: got %d %q %q, clubak %d %q %q", c.name, got.code, got.out, got.err, want.code, want.out, want.err)
		}
	}
}
