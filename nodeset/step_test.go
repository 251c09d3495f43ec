package nodeset

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSteppedHugeSetsNoPerIndexAllocation proves that a stepped range of
// 10,000,000 indexes is stored as one progression: parsing, counting,
// intersecting, folding with autostep and membership allocate nothing
// per index.
func TestSteppedHugeSetsNoPerIndexAllocation(t *testing.T) {
	var a, b NodeSet
	if allocs := testing.AllocsPerRun(3, func() {
		a = MustParse("node[1-20000000/2]")
		b = MustParse("node[5000001-15000000]")
	}); allocs > 200 {
		t.Errorf("parsing allocates %.0f times", allocs)
	}
	if allocs := testing.AllocsPerRun(3, func() {
		if a.Len() != 10_000_000 {
			t.Fatalf("Len = %d", a.Len())
		}
	}); allocs != 0 {
		t.Errorf("Len allocates %.0f times", allocs)
	}
	var in NodeSet
	if allocs := testing.AllocsPerRun(3, func() { in = a.Intersection(b) }); allocs > 20 {
		t.Errorf("Intersection allocates %.0f times", allocs)
	}
	if in.Len() != 5_000_000 {
		t.Errorf("Intersection has %d nodes", in.Len())
	}
	var s string
	if allocs := testing.AllocsPerRun(2, func() { s = in.WithAutostep(3).String() }); allocs > 20 {
		t.Errorf("autostep String allocates %.0f times", allocs)
	}
	if s != "node[5000001-14999999/2]" {
		t.Errorf("autostep String = %q", s)
	}
	if allocs := testing.AllocsPerRun(3, func() {
		if !a.Contains("node19999999") || a.Contains("node2") || a.Contains("node01") {
			t.Fatal("Contains")
		}
	}); allocs != 0 {
		t.Errorf("Contains allocates %.0f times", allocs)
	}
	var d NodeSet
	if allocs := testing.AllocsPerRun(3, func() { d = a.Difference(b) }); allocs > 20 {
		t.Errorf("Difference allocates %.0f times", allocs)
	}
	if d.Len() != 5_000_000 || d.WithAutostep(3).String() != "node[1-4999999/2,15000001-19999999/2]" {
		t.Errorf("Difference = %s (%d)", d.WithAutostep(3), d.Len())
	}
	if allocs := testing.AllocsPerRun(3, func() {
		if !in.IsSubset(a) || a.IsSubset(in) || !a.pats[0].rs.Intersects(b.pats[0].rs) {
			t.Fatal("IsSubset/Intersects")
		}
	}); allocs != 0 {
		t.Errorf("IsSubset/Intersects allocate %.0f times", allocs)
	}
	// without autostep every index is printed, into one growing buffer
	var folded string
	if allocs := testing.AllocsPerRun(1, func() { folded = in.String() }); allocs > 100 {
		t.Errorf("String allocates %.0f times for 5M indexes", allocs)
	}
	if !strings.HasPrefix(folded, "node[5000001,5000003,") || !strings.HasSuffix(folded, ",14999997,14999999]") {
		t.Errorf("String = %.40q...", folded)
	}
	n := 0
	if allocs := testing.AllocsPerRun(1, func() {
		n = 0
		in.AppendAll(func([]byte) bool { n++; return true })
	}); allocs > 10 || n != 5_000_000 {
		t.Errorf("AppendAll visited %d with %.0f allocs", n, allocs)
	}
}

// randSteppedExpr returns a random expression of stepped and plain
// ranges, padded or not, negative or not, over a few patterns, so that
// widths change inside ranges (8-12/2) and progressions overlap.
func randSteppedExpr(r *rand.Rand) string {
	var parts []string
	for i := 1 + r.IntN(4); i > 0; i-- {
		lo := r.IntN(120)
		hi := lo + r.IntN(60)
		var rng string
		switch r.IntN(5) {
		case 0:
			if lo < 0 {
				lo = -lo
				hi = lo + r.IntN(60)
			}
			rng = fmt.Sprintf("%03d-%03d/%d", lo, hi, 1+r.IntN(6))
		case 1:
			rng = fmt.Sprintf("%d", lo)
		case 2:
			rng = fmt.Sprintf("%d-%d", lo, hi)
		default:
			rng = fmt.Sprintf("%d-%d/%d", lo, hi, 1+r.IntN(9))
		}
		pfx := []string{"n", "n", "x"}[r.IntN(3)]
		if r.IntN(6) == 0 {
			parts = append(parts, fmt.Sprintf("%s[%s]c[%d-%d/2]", pfx, rng, r.IntN(3), 3+r.IntN(4)))
		} else {
			parts = append(parts, fmt.Sprintf("%s[%s]", pfx, rng))
		}
	}
	return strings.Join(parts, ",")
}

// TestSteppedAlgebraAgainstMap checks the set operations, Len, Contains,
// IsSubset, Intersects, Equal, Index, Slice and Contiguous on stepped
// sets against a plain map-based set (the names being those of the
// expanded set, which never depends on the stored progressions).
func TestSteppedAlgebraAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 1500; iter++ {
		ea, eb := randSteppedExpr(r), randSteppedExpr(r)
		a, err := Parse(ea, WithResolver(nil))
		if err != nil {
			t.Fatalf("%s: %v", ea, err)
		}
		b, err := Parse(eb, WithResolver(nil))
		if err != nil {
			t.Fatalf("%s: %v", eb, err)
		}
		ma, mb := naiveOf(a), naiveOf(b)
		// the names, rebuilt one by one, are the same set
		var names []string
		for n := range a.All() {
			names = append(names, n)
		}
		fa := FromNames(names...)
		if !hasNegative(a) && (!fa.Equal(a) || !a.Equal(fa) || fa.String() != a.String() ||
			fa.WithAutostep(3).String() != a.WithAutostep(3).String()) {
			t.Fatalf("%s: %s / %s differs from its names %s / %s", ea, a, a.WithAutostep(3), fa, fa.WithAutostep(3))
		}
		sameSet(t, ea, a, ma)
		sameSet(t, eb, b, mb)
		u, in, d, x := naive{}, naive{}, naive{}, naive{}
		for k := range ma {
			u[k] = true
			if mb[k] {
				in[k] = true
			} else {
				d[k] = true
				x[k] = true
			}
		}
		for k := range mb {
			u[k] = true
			if !ma[k] {
				x[k] = true
			}
		}
		what := ea + " OP " + eb
		sameSet(t, "union "+what, a.Union(b), u)
		sameSet(t, "intersection "+what, a.Intersection(b), in)
		sameSet(t, "difference "+what, a.Difference(b), d)
		sameSet(t, "symmetric difference "+what, a.SymmetricDifference(b), x)
		if got := a.IsSubset(b); got != (len(d) == 0) {
			t.Fatalf("IsSubset %s = %v", what, got)
		}
		if got := a.Intersection(b).IsSubset(a) && a.Intersection(b).IsSubset(b); !got {
			t.Fatalf("a&b not a subset of a and b: %s", what)
		}
		if got := a.Union(b).Equal(a); got != (len(u) == len(ma)) {
			t.Fatalf("Equal %s = %v", what, got)
		}
		for i, n := 0, a.Len(); i < n; i += 1 + i%7 {
			name, ok := a.Index(i)
			if !ok || !ma[name] {
				t.Fatalf("Index(%d) of %s = %q", i, ea, name)
			}
		}
		// slices and contiguous parts partition the set as expected
		step := 1 + r.IntN(4)
		got := naiveOf(a.Slice(1, a.Len(), step))
		i := 0
		for n := range a.All() {
			if (i >= 1 && (i-1)%step == 0) != got[n] {
				t.Fatalf("Slice(1::%d) of %s: %s", step, ea, a.Slice(1, a.Len(), step))
			}
			i++
		}
		var parts []string
		for _, c := range a.Contiguous() {
			parts = append(parts, c.String())
		}
		if strings.Join(parts, ",") != a.FoldAxis([]int{}) && len(a.Contiguous()) > 0 {
			// FoldAxis with no axis expands every name; the parts must
			// hold the same names
			back, err := Parse(strings.Join(parts, ","), WithResolver(nil))
			if err != nil || !back.Equal(a) {
				t.Fatalf("Contiguous of %s: %v", ea, parts)
			}
		}
	}
}

// TestSteppedRangeSetOps checks RangeSet operations on progressions whose
// steps differ (the common-step arithmetic) against expanded sets.
func TestSteppedRangeSetOps(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	expand := func(s string) map[int64]bool {
		m := map[int64]bool{}
		for v := range MustParseRangeSet(s).Ints() {
			m[v] = true
		}
		return m
	}
	for iter := 0; iter < 3000; iter++ {
		a := fmt.Sprintf("%d-%d/%d", r.IntN(50), 50+r.IntN(400), 1+r.IntN(12))
		if r.IntN(4) == 0 {
			a = fmt.Sprintf("-%d-%d/%d", r.IntN(90), r.IntN(400), 1+r.IntN(12))
		}
		b := fmt.Sprintf("%d-%d/%d,%d", r.IntN(80), 80+r.IntN(400), 1+r.IntN(12), r.IntN(500))
		ra, rb := MustParseRangeSet(a), MustParseRangeSet(b)
		ma, mb := expand(a), expand(b)
		check := func(op string, got RangeSet, keep func(x, y bool) bool) {
			t.Helper()
			want := 0
			for v := int64(-100); v < 1000; v++ {
				k := keep(ma[v], mb[v])
				if k {
					want++
				}
				w := int32(ndigits(v))
				if v < 0 {
					w = 0
				}
				if got.containsElem(w, v) != k {
					t.Fatalf("%s %s %s: %d wrong in %s", a, op, b, v, got)
				}
			}
			if got.Len() != want {
				t.Fatalf("%s %s %s: Len %d want %d", a, op, b, got.Len(), want)
			}
		}
		check("|", ra.Union(rb), func(x, y bool) bool { return x || y })
		check("&", ra.Intersection(rb), func(x, y bool) bool { return x && y })
		check("-", ra.Difference(rb), func(x, y bool) bool { return x && !y })
		check("^", ra.SymmetricDifference(rb), func(x, y bool) bool { return x != y })
		if ra.Intersects(rb) != !ra.Intersection(rb).IsEmpty() {
			t.Fatalf("Intersects %s %s", a, b)
		}
		if ra.IsSubset(rb) != ra.Difference(rb).IsEmpty() {
			t.Fatalf("IsSubset %s %s", a, b)
		}
	}
}

// TestSteppedFoldMatchesNames checks the text of stepped ranges, folded
// with and without autostep, against the same indexes given one by one,
// across width changes and carries (9 to 10, 0099 to 0100).
func TestSteppedFoldMatchesNames(t *testing.T) {
	for _, e := range []string{
		"n[95-130/7]", "n[0095-0130/7]", "n[999990-1000020/3]", "n[1-100/2,50-60]",
		"n[0-10/10]", "n[00-99/11]", "n[1-99/2,4,6]", "n[5-5/3]", "n[1-30/3,31-40/3]",
		"n[99999999999999999-100000000000000100/9]",
	} {
		ns, err := Parse(e, WithResolver(nil))
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		var names []string
		for n := range ns.All() {
			names = append(names, n)
		}
		fn := FromNames(names...)
		for _, as := range []int{0, 2, 3} {
			if got, want := ns.WithAutostep(as).String(), fn.WithAutostep(as).String(); got != want {
				t.Errorf("%s autostep %d: %s, want %s", e, as, got, want)
			}
		}
	}
}
