package nodeset

import (
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"node[1-3,7]", "n[9-10,010,0010]", "da1c1,da1c2,da2c1,da2c2,da3c1",
	"node-00[1-6]0", "a,b,1,2,n1,10", "n[1-10]!n[2-3],n3", "n[1-3]&n[2-5]^n[4-6]",
	"x[20-23]c[0-1]s[0-1]!x21c1s1", "n[0-3]c[0-3]^n[2-5]c[2-5]", "n[-2-1]",
	"n[1-100/7]", " n1 , n2 ", "n%1", "n[1][2]", "n[01-9]", "n1,,n2", "5,-3--1,0",
	"da[31-5-59/4]", "a[1-2]b[3-4]c[5-6]", "n[001-100]&n[50-150]",
}

// FuzzParse checks that Parse never panics and that a parsed set folds,
// expands, counts and re-parses consistently: fold(expand(x)) == fold(x),
// Len == number of expanded names, Parse(String()) == x.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !smallInput(s) {
			return
		}
		ns, err := Parse(s, WithResolver(nil))
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("Parse(%q) error %T %v is not a *ParseError", s, err, err)
			}
			return
		}
		n := ns.Len()
		if n < 0 {
			t.Fatalf("Len(%q) = %d", s, n)
		}
		folded := ns.String()
		back, err := Parse(folded, WithResolver(nil))
		if err != nil {
			t.Fatalf("Parse(%q) folded to %q which does not parse: %v", s, folded, err)
		}
		if !hasNegative(ns) && (!back.Equal(ns) || back.String() != folded) {
			t.Fatalf("Parse(%q): %q re-parses as %q", s, folded, back)
		}
		if n > 20000 {
			return
		}
		var names []string
		for x := range ns.All() {
			names = append(names, x)
		}
		if len(names) != n {
			t.Fatalf("Parse(%q): Len %d but %d names", s, n, len(names))
		}
		// negative indexes ("n[-2-1]") are the one case where ClusterShell's
		// own fold(expand(x)) differs: "n-2" reads as pattern "n-%s"
		if fromNames := FromNames(names...); !hasNegative(ns) && fromNames.String() != folded {
			t.Fatalf("Parse(%q): fold %q but fold(expand) %q (names %q)", s, folded, fromNames, strings.Join(names, " "))
		}
		for _, x := range names {
			if !hasNegative(ns) && !ns.Contains(x) {
				t.Fatalf("Parse(%q): Contains(%q) = false", s, x)
			}
		}
		_ = ns.WithAutostep(3).String()
		_ = ns.Contiguous()
		_ = ns.Split(3)
		_ = ns.FoldAxis([]int{0})
	})
}

// FuzzParseRangeSet checks ParseRangeSet the same way.
func FuzzParseRangeSet(f *testing.F) {
	for _, s := range []string{"1-5,7", "08-11", "1-9,010-012", "0-10/2", "5,-3--1,0", " 3 , 1 - 2 ", "47-547-50", "1-", "01-9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// stepped ranges are stored index by index: keep them small
		for _, run := range strings.FieldsFunc(s, func(c rune) bool { return c < '0' || c > '9' }) {
			if len(run) > 5 {
				return
			}
		}
		r, err := ParseRangeSet(s)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("ParseRangeSet(%q) error %T is not a *ParseError", s, err)
			}
			return
		}
		str := r.String()
		back, err := ParseRangeSet(str)
		if str != "" && (err != nil || !back.Equal(r)) {
			t.Fatalf("ParseRangeSet(%q) = %q re-parses as %q, %v", s, str, back, err)
		}
		if r.Len() > 20000 {
			return
		}
		n := 0
		var b []string
		for x := range r.All() {
			n++
			b = append(b, x)
			if !r.Contains(x) {
				t.Fatalf("%q: Contains(%q) false", s, x)
			}
		}
		if n != r.Len() {
			t.Fatalf("%q: Len %d, %d indexes", s, r.Len(), n)
		}
		if len(b) > 0 {
			again, err := ParseRangeSet(strings.Join(b, ","))
			if err != nil || again.String() != str {
				t.Fatalf("%q: fold(expand) = %q, want %q (%v)", s, again, str, err)
			}
		}
		_ = r.Fold(2)
		_ = r.ContiguousAutostep(3)
	})
}

func hasNegative(ns NodeSet) bool {
	neg := func(r RangeSet) bool { return len(r.sp) > 0 && r.sp[0].w == 0 }
	for _, p := range ns.pats {
		if neg(p.rs) {
			return true
		}
		for _, v := range p.nd {
			for _, r := range v {
				if neg(r) {
					return true
				}
			}
		}
	}
	return false
}

// smallInput bounds the sets a fuzz input can describe (at most three
// brackets and indexes up to 30), so that multi-dimensional differences,
// which fold point by point as in ClusterShell, stay fast.
func smallInput(s string) bool {
	if strings.Count(s, "[") > 3 {
		return false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			v = v*10 + int(s[i]-'0')
			if v > 30 {
				return false
			}
		} else {
			v = 0
		}
	}
	return true
}
