package nodeset

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind (group upcalls run
// subprocesses).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		pos  int
		text string
		msg  string // substring
	}{
		{"n1,,n2", 3, ",", "missing nodeset operand"},
		{"n1!", 2, "!", "missing nodeset operand with '!'"},
		{",n1", 0, ",", "missing nodeset operand"},
		{"n[01-9]", 2, "01-9", "padding length mismatch"},
		{"n[1-2", 1, "n[1-2", "missing bracket"},
		{"n1-2]", 4, "n1-2]", "illegal closing bracket"},
		{"n[1-2]x]", 7, "x]", "illegal closing bracket"},
		{"n[1][2]", 4, "[2]", "illegal reopening bracket"},
		{"n[1-3/2]0", 8, "0", "illegal trailing digits"},
		{"n[]", 2, "", "empty range"},
		{"n[a-b]", 2, "a-b", "cannot convert"},
		{"a,b[1-2,x]", 8, "x", "cannot convert"},
		{"n[3-1]", 2, "3-1", "invalid values"},
		{"n[1-5/0]", 2, "1-5/0", "invalid values"},
		{"n[1/2]", 2, "1/2", "invalid step usage"},
		{"n[-05--03]", 2, "-05--03", "padding not supported"},
		{"n[1-1000000000]", 2, "1-1000000000", "range too large"},
		{"n99999999999999999999", 1, "99999999999999999999", "too large"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, WithResolver(nil))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error = %v, want *ParseError", tt.in, err)
			continue
		}
		if !errors.Is(err, ErrParse) {
			t.Errorf("Parse(%q): errors.Is(err, ErrParse) = false", tt.in)
		}
		if pe.Input != tt.in || pe.Pos != tt.pos || pe.Text != tt.text || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("Parse(%q) = {pos %d text %q msg %q}, want {pos %d text %q msg ~%q}",
				tt.in, pe.Pos, pe.Text, pe.Msg, tt.pos, tt.text, tt.msg)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.in)) {
			t.Errorf("error text %q does not name the input", err)
		}
	}
	// a group reference without a resolver
	_, err := Parse("n1,@rack", WithResolver(nil))
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrNoResolver) || pe.Pos != 3 {
		t.Errorf("Parse(@rack) without resolver: %v", err)
	}
}

func TestParseRangeSet(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1-5,7", "1-5,7"},
		{"08-11", "08-11"},
		{"1-9,010-012,10-12", "1-12,010-012"},
		{"0-10/2", "0,2,4,6,8,10"},
		{"5,-3--1,0", "-3-0,5"},
		{" 3 , 1 - 2 ", "1-3"},
		{"47-547-50", "-547-50"},
	}
	for _, tt := range tests {
		r, err := ParseRangeSet(tt.in)
		if err != nil {
			t.Errorf("ParseRangeSet(%q): %v", tt.in, err)
			continue
		}
		if r.String() != tt.want {
			t.Errorf("ParseRangeSet(%q) = %q, want %q", tt.in, r, tt.want)
		}
	}
	r := MustParseRangeSet("1-10/3,20-21")
	if got := r.Fold(3); got != "1-10/3,20-21" {
		t.Errorf("Fold(3) = %q", got)
	}
	if !r.Contains("4") || r.Contains("04") || r.Contains("5") {
		t.Error("Contains")
	}
	if s, ok := r.Index(-1); !ok || s != "21" {
		t.Errorf("Index(-1) = %q %v", s, ok)
	}
	if got := r.Slice(1, 4, 2).String(); got != "4,10" {
		t.Errorf("Slice(1,4,2) = %q", got)
	}
	if got := fmt.Sprint(r.Split(4)); got != "[1,4 7,10 20 21]" {
		t.Errorf("Split = %s", got)
	}
	if got := fmt.Sprint(MustParseRangeSet("1-9/2,20").ContiguousAutostep(2)); got != "[1 3 5 7 9,20]" {
		t.Errorf("ContiguousAutostep = %s", got)
	}
	var ints []int64
	for v := range MustParseRangeSet("9,08").Ints() {
		ints = append(ints, v)
	}
	if !slices.Equal(ints, []int64{9, 8}) {
		t.Errorf("Ints = %v", ints)
	}
	if _, err := ParseRangeSet("1-"); err == nil {
		t.Error("ParseRangeSet(1-) accepted")
	}
}

// randName returns a random node name over a few patterns, with padding
// and several dimensions.
func randName(r *rand.Rand) string {
	switch r.IntN(6) {
	case 0:
		return fmt.Sprintf("node%d", r.IntN(60))
	case 1:
		return fmt.Sprintf("node%03d", r.IntN(40))
	case 2:
		return fmt.Sprintf("da%dc%d", r.IntN(6), r.IntN(5))
	case 3:
		return fmt.Sprintf("x%ds%02db%d", r.IntN(4), r.IntN(4), r.IntN(2))
	case 4:
		return []string{"alpha", "beta", "gw", "n-ib"}[r.IntN(4)]
	default:
		return fmt.Sprintf("%d", r.IntN(30))
	}
}

type naive map[string]bool

func naiveOf(ns NodeSet) naive {
	m := naive{}
	for n := range ns.All() {
		m[n] = true
	}
	return m
}

func (m naive) sorted() []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func sameSet(t *testing.T, what string, got NodeSet, want naive) {
	t.Helper()
	g := naiveOf(got)
	if got.Len() != len(want) || len(g) != len(want) || !slices.Equal(g.sorted(), want.sorted()) {
		t.Fatalf("%s: got %s (len %d) want %v", what, got, got.Len(), want.sorted())
	}
	for k := range want {
		if !got.Contains(k) {
			t.Fatalf("%s: Contains(%q) = false", what, k)
		}
	}
	// the folded text parses back to the same set
	back, err := Parse(got.String(), WithResolver(nil))
	if err != nil || !back.Equal(got) {
		t.Fatalf("%s: reparse of %q: %v %s", what, got, err, back)
	}
}

// TestAlgebraAgainstMap checks union, intersection, difference and
// symmetric difference, Len, Contains, IsSubset and Equal against a plain
// map-based set on seeded random inputs.
func TestAlgebraAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		var an, bn []string
		ma, mb := naive{}, naive{}
		for i := r.IntN(40); i > 0; i-- {
			n := randName(r)
			an = append(an, n)
			ma[n] = true
		}
		for i := r.IntN(40); i > 0; i-- {
			n := randName(r)
			bn = append(bn, n)
			mb[n] = true
		}
		a, b := FromNames(an...), FromNames(bn...)
		sameSet(t, "a", a, ma)
		sameSet(t, "b", b, mb)
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
		sameSet(t, "union", a.Union(b), u)
		sameSet(t, "intersection", a.Intersection(b), in)
		sameSet(t, "difference", a.Difference(b), d)
		sameSet(t, "symmetric difference", a.SymmetricDifference(b), x)
		if got := a.Intersection(b).IsSubset(a); !got {
			t.Fatal("a&b not a subset of a")
		}
		if a.Union(b).Equal(a) != (len(u) == len(ma)) {
			t.Fatal("Equal")
		}
		// operators in strings apply left to right to each operand
		expr := a.String()
		if expr == "" {
			continue
		}
		for _, n := range bn {
			expr += "!" + n
		}
		e, err := Parse(expr, WithResolver(nil))
		if err != nil {
			t.Fatal(err)
		}
		sameSet(t, "parsed !", e, d)
	}
}

// TestHugeSetsNoPerNodeAllocation proves that counting, folding and
// intersecting 10,000,000-node sets does not allocate per node.
func TestHugeSetsNoPerNodeAllocation(t *testing.T) {
	var a, b NodeSet
	allocs := testing.AllocsPerRun(5, func() {
		a = MustParse("node[1-10000000]")
		b = MustParse("node[5000001-15000000]")
	})
	if allocs > 200 {
		t.Errorf("parsing allocates %.0f times", allocs)
	}
	if allocs := testing.AllocsPerRun(5, func() {
		if a.Len() != 10_000_000 {
			t.Fatal("Len")
		}
	}); allocs != 0 {
		t.Errorf("Len allocates %.0f times", allocs)
	}
	var s string
	if allocs := testing.AllocsPerRun(5, func() { s = a.String() }); allocs > 10 {
		t.Errorf("String allocates %.0f times", allocs)
	}
	if s != "node[1-10000000]" {
		t.Errorf("String = %q", s)
	}
	var in NodeSet
	if allocs := testing.AllocsPerRun(5, func() { in = a.Intersection(b) }); allocs > 20 {
		t.Errorf("Intersection allocates %.0f times", allocs)
	}
	if in.Len() != 5_000_000 || in.String() != "node[5000001-10000000]" {
		t.Errorf("Intersection = %s (%d)", in, in.Len())
	}
	if allocs := testing.AllocsPerRun(5, func() {
		if !a.Contains("node9999999") || a.Contains("node09") {
			t.Fatal("Contains")
		}
	}); allocs != 0 {
		t.Errorf("Contains allocates %.0f times", allocs)
	}
	// expansion through AppendAll: no allocation per node
	n := 0
	if allocs := testing.AllocsPerRun(1, func() {
		n = 0
		a.AppendAll(func([]byte) bool { n++; return true })
	}); allocs > 10 {
		t.Errorf("AppendAll allocates %.0f times for 10M nodes", allocs)
	}
	if n != 10_000_000 {
		t.Errorf("AppendAll visited %d", n)
	}
	// 2-D: 1M nodes counted without expansion
	nd := MustParse("da[1-1000]c[1-1000]")
	if allocs := testing.AllocsPerRun(5, func() { _ = nd.Len() }); allocs != 0 || nd.Len() != 1_000_000 {
		t.Errorf("nD Len: %d, %.0f allocs", nd.Len(), allocs)
	}
}

// TestBuilderFoldsSequentialNamesWithoutPerNameAllocation checks the
// incremental fold of many names.
func TestBuilderFoldsSequentialNamesWithoutPerNameAllocation(t *testing.T) {
	names := benchNames(100_000)
	var b Builder
	allocs := testing.AllocsPerRun(2, func() {
		b = Builder{}
		for _, n := range names {
			b.Add(n)
		}
	})
	if allocs > 20 {
		t.Errorf("Builder.Add of 100k names: %.0f allocations", allocs)
	}
	if got := b.NodeSet().String(); got != "node[1-100000]" {
		t.Errorf("got %q", got)
	}
	// unordered, duplicated, padded, nD and index-free names
	var b2 Builder
	for _, n := range []string{"n3", "n1", "n01", "n2", "n3", "x1y2", "x1y1", "gw", "", "n%1"} {
		b2.Add(n)
	}
	b2.AddNodeSet(MustParse("n[10-11]"))
	if got := b2.NodeSet().String(); got != "gw,n%1,n[1-3,01,10-11],x1y[1-2]" {
		t.Errorf("got %q", got)
	}
}

func TestIndexSliceSplit(t *testing.T) {
	ns := MustParse("a[1-3],b[1-5],c")
	if s, ok := ns.Index(0); !ok || s != "a1" {
		t.Errorf("Index(0) = %q", s)
	}
	if s, ok := ns.Index(-1); !ok || s != "c" {
		t.Errorf("Index(-1) = %q", s)
	}
	if _, ok := ns.Index(9); ok {
		t.Error("Index(9) ok")
	}
	tests := []struct {
		start, stop, step int
		want              string
	}{
		{1, 4, 1, "a[2-3],b1"},
		{0, math.MaxInt, 3, "a1,b[1,4]"},
		{-2, math.MaxInt, 1, "b5,c"},
		{0, -7, 1, "a[1-2]"},
		{5, 2, 1, ""},
		// across patterns with a step, ClusterShell 1.9.1 raises TypeError
		// (a Python 3 division bug); muster selects the positions
		{0, math.MaxInt, -4, "a1,b2,c"},
	}
	for _, tt := range tests {
		if got := ns.Slice(tt.start, tt.stop, tt.step).String(); got != tt.want {
			t.Errorf("Slice(%d,%d,%d) = %q, want %q", tt.start, tt.stop, tt.step, got, tt.want)
		}
	}
	// values from ClusterShell: a[1-10][::-4], [::-3], [2::3]
	a := MustParse("a[1-10]")
	for _, tt := range []struct {
		start, step int
		want        string
	}{{0, -4, "a[2,6,10]"}, {0, -3, "a[1,4,7,10]"}, {2, 3, "a[3,6,9]"}} {
		if got := a.Slice(tt.start, math.MaxInt, tt.step).String(); got != tt.want {
			t.Errorf("a[1-10] Slice(%d,_,%d) = %q, want %q", tt.start, tt.step, got, tt.want)
		}
	}
	if got := fmt.Sprint(ns.Split(4)); got != "[a[1-3] b[1-2] b[3-4] b5,c]" {
		t.Errorf("Split(4) = %s", got)
	}
	if got := fmt.Sprint(MustParse("n[1-2]").Split(5)); got != "[n1 n2]" {
		t.Errorf("Split(5) = %s", got)
	}
	if got := fmt.Sprint(MustParse("n[1-3,5,7-8]").Contiguous()); got != "[n[1-3] n5 n[7-8]]" {
		t.Errorf("Contiguous = %s", got)
	}
}

// TestFoldNDExpandedNames folds the 9,472 names of
// x[2000-2073]c[0-7]s[0-7]b[0-1] (ClusterShell issue #485) given in order
// and shuffled, and a scattered 3-D set checked against ClusterShell.
func TestFoldNDExpandedNames(t *testing.T) {
	names := ndNames()
	if got := FromNames(names...).String(); got != "x[2000-2073]c[0-7]s[0-7]b[0-1]" {
		t.Errorf("in order: %q", got)
	}
	r := rand.New(rand.NewPCG(3, 4))
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	ns := FromNames(names...)
	if got := ns.String(); got != "x[2000-2073]c[0-7]s[0-7]b[0-1]" {
		t.Errorf("shuffled: %q", got)
	}
	if ns.Len() != 9472 || !ns.Contains("x2042c3s7b1") || ns.Contains("x2074c0s0b0") {
		t.Errorf("Len %d / Contains", ns.Len())
	}
	// value from ClusterShell 1.9.1
	const want = "a[1,3]b[1-3]c[1-3],a2b[1,3]c[1-3],a2b2c[1,3]"
	if got := MustParse("a[1-3]b[1-3]c[1-3]!a2b2c2").String(); got != want {
		t.Errorf("3-D difference: %q, want %q", got, want)
	}
}

// TestBuilderShuffledLarge folds thousands of shuffled, duplicated and
// mixed-padding names (the packed-sort path) and compares with a map.
func TestBuilderShuffledLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	want := naive{}
	var names []string
	for i := 0; i < 6000; i++ {
		var n string
		switch r.IntN(3) {
		case 0:
			n = fmt.Sprintf("n%d", r.IntN(5000))
		case 1:
			n = fmt.Sprintf("n%04d", r.IntN(3000))
		default:
			n = fmt.Sprintf("n%d", 100000+i) // runs that merge in Add
		}
		names = append(names, n)
		want[n] = true
	}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	got := FromNames(names...)
	sameSet(t, "shuffled", got, want)
	sorted := slices.Clone(names)
	sort.Strings(sorted)
	if s := FromNames(sorted...).String(); s != got.String() {
		t.Errorf("order changes the fold:\n%s\n%s", s, got)
	}
}

func TestSmallAccessors(t *testing.T) {
	ns := MustParse("x[1-3]y[1-2],n1")
	if got := ns.Slice(1, math.MaxInt, 2).String(); got != "x[1-3]y1" {
		// positions 1,3,5: x1y1, x2y1, x3y1 (n1 is position 0)
		t.Errorf("nD stepped slice = %q", got)
	}
	if ns.Patterns() != 2 || ns.Autostep() != 0 || ns.WithAutostep(4).Autostep() != 4 || ns.WithAutostep(-2).Autostep() != 1 {
		t.Error("Patterns/Autostep")
	}
	r := RangeSetOf(8, 11, 2)
	if got := string(r.AppendTo([]byte("r="))); got != "r=08-11" || r.Len() != 4 {
		t.Errorf("RangeSetOf/AppendTo = %q", got)
	}
	if got := RangeSetOf(-2, 10, 0).String(); got != "-2-10" {
		t.Errorf("RangeSetOf(-2,10) = %q", got)
	}
	if !RangeSetOf(5, 4, 0).IsEmpty() {
		t.Error("empty RangeSetOf")
	}
	if got := string(ns.AppendTo(nil)); got != ns.String() {
		t.Errorf("AppendTo = %q", got)
	}
}

// TestIntersectionSkipsLongRuns checks intersections of very unequal
// sets (the galloping path) against a direct computation.
func TestIntersectionSkipsLongRuns(t *testing.T) {
	a := MustParse("n[1-20000/2],n[030000-030100]")
	for _, tt := range []struct{ b, want string }{
		{"n[9001-9010]", "n[9001,9003,9005,9007,9009]"},
		{"n[19999-25000],n30050", "n19999"},
		{"n[030050-030060],n[1-3]", "n[1,3,030050-030060]"},
		{"n[20001-29999]", ""},
	} {
		got := a.Intersection(MustParse(tt.b))
		if got.String() != tt.want {
			t.Errorf("& %s = %q, want %q", tt.b, got, tt.want)
		}
		if back := MustParse(tt.b).Intersection(a); !back.Equal(got) {
			t.Errorf("intersection not symmetric for %s: %s", tt.b, back)
		}
	}
}
