package nodeset_test

import (
	"fmt"
	"math"

	"github.com/muster-sh/muster/nodeset"
)

func ExampleParse() {
	ns, err := nodeset.Parse("node[1-10]!node[3-5],node20")
	if err != nil {
		panic(err)
	}
	fmt.Println(ns, ns.Len())
	// Output: node[1-2,6-10,20] 8
}

func ExampleParse_error() {
	_, err := nodeset.Parse("node[1-3,x]")
	fmt.Println(err)
	// Output: nodeset: parse error in "node[1-3,x]" at byte 9 ("x"): cannot convert string to integer (expected digits)
}

func ExampleNodeSet_String() {
	// zero padding, several dimensions and plain numbers in names
	fmt.Println(nodeset.MustParse("n[08-11],da1c1,da1c2,da2c1,da2c2,rack2-node3"))
	// Output: da[1-2]c[1-2],n[08-11],rack2-node3
}

func ExampleNodeSet_All() {
	for name := range nodeset.MustParse("n[9-10,010]").All() {
		fmt.Println(name)
	}
	// Output:
	// n9
	// n10
	// n010
}

func ExampleNodeSet_Intersection() {
	a := nodeset.MustParse("node[1-10000000]")
	b := nodeset.MustParse("node[9999990-20000000]")
	in := a.Intersection(b)
	fmt.Println(in, in.Len())
	// Output: node[9999990-10000000] 11
}

func ExampleNodeSet_WithAutostep() {
	fmt.Println(nodeset.MustParse("n[1,3,5,7,10]").WithAutostep(3))
	// Output: n[1-7/2,10]
}

func ExampleNodeSet_FoldAxis() {
	ns := nodeset.MustParse("x[1-3]y[1-2]")
	fmt.Println(ns.FoldAxis([]int{0}))
	// Output: x[1-3]y1,x[1-3]y2
}

func ExampleNodeSet_Split() {
	for _, part := range nodeset.MustParse("foo[1-5]").Split(3) {
		fmt.Println(part)
	}
	// Output:
	// foo[1-2]
	// foo[3-4]
	// foo5
}

func ExampleNodeSet_Slice() {
	ns := nodeset.MustParse("n[1-10]")
	fmt.Println(ns.Slice(0, math.MaxInt, 3), ns.Slice(-2, math.MaxInt, 1))
	// Output: n[1,4,7,10] n[9-10]
}

func ExampleBuilder() {
	var b nodeset.Builder
	for _, name := range []string{"node3", "node1", "node2", "gw", "node10"} {
		b.Add(name)
	}
	fmt.Println(b.NodeSet())
	// Output: gw,node[1-3,10]
}

func ExampleParseRangeSet() {
	r, _ := nodeset.ParseRangeSet("1-9,010-012,10-12")
	fmt.Println(r, r.Len())
	// Output: 1-12,010-012 15
}

func ExampleNodeSet_Regroup() {
	groups := nodeset.NewStaticGroups("rack", map[string]map[string][]string{
		"rack": {"r1": {"node[1-4]"}, "r2": {"node[5-8]"}},
	})
	ns, _ := nodeset.Parse("@r1,node[5-6]", nodeset.WithResolver(groups))
	fmt.Println(ns)
	s, _ := ns.Regroup(groups, "", false)
	fmt.Println(s)
	s, _ = ns.Regroup(groups, "rack", false)
	fmt.Println(s)
	// Output:
	// node[1-6]
	// @r1,node[5-6]
	// @rack:r1,node[5-6]
}
