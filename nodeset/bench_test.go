package nodeset

import (
	"strconv"
	"strings"
	"testing"
)

// names returns node1..noden.
func benchNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "node" + strconv.Itoa(i+1)
	}
	return out
}

// ndNames returns the expanded names of x[2000-2073]c[0-7]s[0-7]b[0-1].
func ndNames() []string {
	var out []string
	for x := 2000; x <= 2073; x++ {
		for c := 0; c <= 7; c++ {
			for s := 0; s <= 7; s++ {
				for b := 0; b <= 1; b++ {
					out = append(out, "x"+strconv.Itoa(x)+"c"+strconv.Itoa(c)+"s"+strconv.Itoa(s)+"b"+strconv.Itoa(b))
				}
			}
		}
	}
	return out
}

// BenchmarkFold1M folds one million literal names (nodeset -f < file).
func BenchmarkFold1M(b *testing.B) {
	names := benchNames(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		var bl Builder
		for _, n := range names {
			bl.Add(n)
		}
		if s := bl.NodeSet().String(); s != "node[1-1000000]" {
			b.Fatal(s)
		}
	}
}

// BenchmarkFold1MShuffled folds one million names given in random order.
func BenchmarkFold1MShuffled(b *testing.B) {
	names := benchNames(1_000_000)
	// deterministic shuffle
	x := uint64(88172645463325252)
	for i := len(names) - 1; i > 0; i-- {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		j := int(x % uint64(i+1))
		names[i], names[j] = names[j], names[i]
	}
	b.ReportAllocs()
	for b.Loop() {
		var bl Builder
		for _, n := range names {
			bl.Add(n)
		}
		if s := bl.NodeSet().String(); s != "node[1-1000000]" {
			b.Fatal(s)
		}
	}
}

// BenchmarkCount10M parses and counts node[1-10000000] (nodeset -c).
func BenchmarkCount10M(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ns, err := Parse("node[1-10000000]", WithResolver(nil))
		if err != nil || ns.Len() != 10_000_000 {
			b.Fatal(err, ns.Len())
		}
	}
}

// BenchmarkExpand1M expands node[1-1000000] into names (nodeset -e).
func BenchmarkExpand1M(b *testing.B) {
	ns := MustParse("node[1-1000000]")
	buf := make([]byte, 0, 16<<20)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		ns.AppendAll(func(name []byte) bool {
			buf = append(buf, name...)
			buf = append(buf, ' ')
			return true
		})
	}
	if len(buf) == 0 {
		b.Fatal("empty")
	}
}

// BenchmarkIntersect100k intersects two scattered 100k-node sets.
func BenchmarkIntersect100k(b *testing.B) {
	var b1, b2 Builder
	for i := 0; i < 100_000; i++ {
		b1.Add("node" + strconv.Itoa(2*i))   // even
		b2.Add("node" + strconv.Itoa(3*i+1)) // every third
	}
	x, y := b1.NodeSet(), b2.NodeSet()
	b.ReportAllocs()
	for b.Loop() {
		if x.Intersection(y).Len() == 0 {
			b.Fatal("empty")
		}
	}
}

// BenchmarkFoldND folds the 9472 expanded names of
// x[2000-2073]c[0-7]s[0-7]b[0-1] (ClusterShell issue #485).
func BenchmarkFoldND(b *testing.B) {
	names := ndNames()
	b.ReportAllocs()
	for b.Loop() {
		var bl Builder
		for _, n := range names {
			bl.Add(n)
		}
		if s := bl.NodeSet().String(); s != "x[2000-2073]c[0-7]s[0-7]b[0-1]" {
			b.Fatal(s)
		}
	}
}

// BenchmarkParseList100k parses one string of 100k comma-separated names
// (what nodeset -i/-x/-X receive from the command line).
func BenchmarkParseList100k(b *testing.B) {
	s := strings.Join(benchNames(100_000), ",")
	b.ReportAllocs()
	for b.Loop() {
		ns, err := Parse(s, WithResolver(nil))
		if err != nil || ns.Len() != 100_000 {
			b.Fatal(err)
		}
	}
}
