package nodeset

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func joinSets(l []NodeSet) string {
	s := make([]string, len(l))
	for i, x := range l {
		s[i] = x.String()
	}
	return strings.Join(s, ";")
}

// TestCompatClusterShell checks fold, count, expansion, autostep fold,
// split, contiguous, fold axis and slicing of ~1,800 expressions (hand-picked
// cases plus seeded random ones, nD and error cases included) against the
// values ClusterShell 1.9.1's NodeSet class produced for them
// (testdata/compat.tsv, columns: expr, fold, count, expand or "-",
// fold with autostep=3, split(3), contiguous, fold_axis=[0], fold_axis=[1],
// ns[-3:]; "ERR" when ClusterShell rejects the expression).
func TestCompatClusterShell(t *testing.T) {
	f, err := os.Open("testdata/compat.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		expr := c[0]
		n++
		ns, err := Parse(expr, WithResolver(nil))
		if c[1] == "ERR" {
			if err == nil {
				t.Errorf("Parse(%q) = %q, want an error", expr, ns)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
			continue
		}
		check := func(what, got, want string) {
			t.Helper()
			if got != want {
				t.Errorf("%s of %q:\n got %q\nwant %q", what, expr, got, want)
			}
		}
		check("fold", ns.String(), c[1])
		check("count", strconv.Itoa(ns.Len()), c[2])
		if c[3] != "-" {
			var names []string
			for x := range ns.All() {
				names = append(names, x)
			}
			check("expand", strings.Join(names, " "), c[3])
		}
		as, err := Parse(expr, WithResolver(nil), WithAutostep(3))
		if err != nil {
			t.Fatal(err)
		}
		check("autostep=3", as.String(), c[4])
		check("split(3)", joinSets(ns.Split(3)), c[5])
		check("contiguous", joinSets(ns.Contiguous()), c[6])
		check("axis 0", ns.FoldAxis([]int{0}), c[7])
		check("axis 1", ns.FoldAxis([]int{1}), c[8])
		check("[-3:]", ns.Slice(-3, int(^uint(0)>>1), 1).String(), c[9])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 1500 {
		t.Fatalf("only %d cases read", n)
	}
}

// TestCompatLiveNodeset runs Debian's nodeset (ClusterShell) on a few
// expressions and compares -f, -c and -e. It skips outside CI when the
// tool is missing and fails in CI (CI=true) when it is missing.
func TestCompatLiveNodeset(t *testing.T) {
	bin, err := exec.LookPath("nodeset")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("ClusterShell's nodeset not installed")
		}
		t.Fatalf("CI requires ClusterShell's nodeset: %v", err)
	}
	exprs := []string{
		"node[1-3,7]", "n[9-10,010,0010]", "da1c1,da1c2,da2c1,da2c2,da3c1",
		"node-00[1-6]0", "a,b,1,2,n1,10", "n[1-10]!n[2-3],n3",
		"n[1-3]&n[2-5]^n[4-6]", "x[2000-2003]c[0-1]s[0-1]!x2001c1s1",
		"n[0-3]c[0-3]^n[2-5]c[2-5]", "n[05-15],n[8-12]", "n[-2-1]",
	}
	run := func(args ...string) string {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("%s %v: %v", bin, args, err)
		}
		return strings.TrimRight(string(out), "\n")
	}
	for _, e := range exprs {
		ns, err := Parse(e, WithResolver(nil))
		if err != nil {
			t.Errorf("Parse(%q): %v", e, err)
			continue
		}
		if got, want := ns.String(), run("-f", e); got != want {
			t.Errorf("-f %q: got %q want %q", e, got, want)
		}
		if got, want := strconv.Itoa(ns.Len()), run("-c", e); got != want {
			t.Errorf("-c %q: got %q want %q", e, got, want)
		}
		var names []string
		for x := range ns.All() {
			names = append(names, x)
		}
		if got, want := strings.Join(names, " "), run("-e", e); got != want {
			t.Errorf("-e %q: got %q want %q", e, got, want)
		}
	}
	// autostep and axis as the CLI passes them
	if got, want := MustParse("n[1,3,5,7,8,10]").WithAutostep(3).String(), run("-f", "--autostep=3", "n[1,3,5,7,8,10]"); got != want {
		t.Errorf("--autostep=3: got %q want %q", got, want)
	}
	if got, want := MustParse("x[1-3]y[1-2]").FoldAxis([]int{0}), run("-f", "--axis=1", "x[1-3]y[1-2]"); got != want {
		t.Errorf("--axis=1: got %q want %q", got, want)
	}
}
