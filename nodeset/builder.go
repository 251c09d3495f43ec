package nodeset

import (
	"slices"
	"strings"
)

// elem is one index: its text width and value (w == 0: negative).
type elem struct {
	w int32
	v int64
}

// nameScan splits a literal node name into a pattern key and its indexes,
// reusing its buffers between names.
type nameScan struct {
	key []byte
	el  []elem
}

// scan splits name; it fails only on an empty name or an index too large.
func (sc *nameScan) scan(name string) bool {
	var ok bool
	sc.key, sc.el, ok = scanName(name, sc.key[:0], sc.el[:0])
	return ok
}

// scanName appends the pattern key of name to key and its indexes to el.
func scanName(name string, key []byte, el []elem) ([]byte, []elem, bool) {
	if name == "" {
		return key, el, false
	}
	i := 0
	for i < len(name) {
		c := name[i]
		if c >= '0' && c <= '9' {
			j := i
			var v int64
			for j < len(name) && name[j] >= '0' && name[j] <= '9' {
				d := int64(name[j] - '0')
				if v > (maxIndex-d)/10 {
					return key, el, false
				}
				v = v*10 + d
				j++
			}
			el = append(el, elem{int32(j - i), v})
			key = append(key, '%', 's')
			i = j
			continue
		}
		if c == '%' {
			key = append(key, '%', '%')
		} else {
			key = append(key, c)
		}
		i++
	}
	return key, el, true
}

// patBuilder accumulates the indexes of one pattern.
type patBuilder struct {
	key    string
	dims   int
	shared bool   // sp is referenced by a returned NodeSet: copy before writing
	sp     []span // dims == 1: spans in arrival order, merged when adjacent
	pts    []elem // dims >= 2: points, dims elements each
}

// Builder folds many node names into a NodeSet incrementally; adding a
// name allocates nothing in the common case where consecutive names of a
// pattern have consecutive indexes (node1, node2, ...). The zero value is
// ready to use. A Builder is not safe for concurrent use.
type Builder struct {
	sc    nameScan
	pats  map[string]*patBuilder
	last  *patBuilder
	bad   []string // names that cannot be split (index too large)
	extra unionAcc // sets added with AddNodeSet
}

// Add adds one literal node name (no brackets, operators or groups are
// interpreted). Every run of digits in the name is an index, as in
// ClusterShell: "node1" is pattern "node%s" with index 1. An empty name is
// ignored.
func (b *Builder) Add(name string) {
	if !b.sc.scan(name) {
		if name != "" {
			b.bad = append(b.bad, name)
		}
		return
	}
	b.addScanned()
}

// addScanned adds the name held in b.sc.
func (b *Builder) addScanned() {
	pb := b.last
	if pb == nil || pb.key != string(b.sc.key) {
		pb = b.pats[string(b.sc.key)]
		if pb == nil {
			if b.pats == nil {
				b.pats = make(map[string]*patBuilder)
			}
			pb = &patBuilder{key: string(b.sc.key), dims: len(b.sc.el)}
			b.pats[pb.key] = pb
		}
		b.last = pb
	}
	switch pb.dims {
	case 0:
	case 1:
		e := b.sc.el[0]
		if pb.shared {
			pb.sp = slices.Clone(pb.sp)
			pb.shared = false
		}
		if n := len(pb.sp); n > 0 {
			l := &pb.sp[n-1]
			if l.w == e.w && e.v == l.hi+1 {
				l.hi++
				return
			}
			if l.w == e.w && e.v >= l.lo && e.v <= l.hi {
				return
			}
		}
		if e.w == 0 || e.v < 0 {
			// not reachable from names (no '-' sign in digit runs)
			e.w = 0
		}
		pb.sp = append(pb.sp, span{e.w, e.v, e.v})
	default:
		pb.pts = append(pb.pts, b.sc.el...)
	}
}

// AddNodeSet adds every node of s.
func (b *Builder) AddNodeSet(s NodeSet) { b.extra.add(s) }

// NodeSet returns the set of the names added so far. The Builder can keep
// being used afterwards.
func (b *Builder) NodeSet() NodeSet {
	keys := make([]string, 0, len(b.pats))
	for k := range b.pats {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	out := NodeSet{}
	for _, k := range keys {
		pb := b.pats[k]
		pt := pat{key: k, parts: keyParts(k)}
		switch pb.dims {
		case 0:
		case 1:
			sp := slices.Clip(normalize(pb.sp))
			pb.sp, pb.shared = sp, true
			pt.rs = RangeSet{sp}
		default:
			pt.nd = pointsFold(pb.pts, pb.dims)
		}
		out.pats = append(out.pats, pt)
	}
	for _, n := range b.bad {
		// indexes beyond int64: keep the name as an opaque, index-free
		// pattern so that nothing is lost
		var kb strings.Builder
		writeEscaped(&kb, n)
		key := kb.String()
		out = out.Union(NodeSet{pats: []pat{{key: key, parts: []string{n}}}})
	}
	if !b.extra.empty() {
		b.extra.add(out)
		out = b.extra.result()
		b.extra.add(out) // result() resets the accumulator
	}
	return out
}

// pointsFold folds nD points (dims elems each) as ClusterShell does.
func pointsFold(pts []elem, dims int) []vec {
	n := len(pts) / dims
	// deduplicate: sort point indexes
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	cmp := func(a, b int) int {
		for k := 0; k < dims; k++ {
			x, y := pts[a*dims+k], pts[b*dims+k]
			if x.w != y.w {
				if x.w < y.w {
					return -1
				}
				return 1
			}
			if x.v != y.v {
				if x.v < y.v {
					return -1
				}
				return 1
			}
		}
		return 0
	}
	slices.SortFunc(idx, cmp)
	sps := make([]span, 0, n*dims)
	var vl []vec
	backing := make([]RangeSet, 0, n*dims)
	for j, i := range idx {
		if j > 0 && cmp(idx[j-1], i) == 0 {
			continue
		}
		start := len(backing)
		for k := 0; k < dims; k++ {
			e := pts[i*dims+k]
			sps = append(sps, span{e.w, e.v, e.v})
			backing = append(backing, RangeSet{sps[len(sps)-1 : len(sps) : len(sps)]})
		}
		vl = append(vl, vec(backing[start:len(backing):len(backing)]))
	}
	if len(vl) <= 1 {
		return vl
	}
	if u, ok := univariate(vl); ok {
		return u
	}
	return ndMerge(vl)
}

// FromNames returns the set of the given literal node names (see
// Builder.Add).
func FromNames(names ...string) NodeSet {
	var b Builder
	for _, n := range names {
		b.Add(n)
	}
	return b.NodeSet()
}

// unionAcc computes the union of many node sets at once: spans and boxes
// are gathered per pattern and merged in one pass at the end, instead of
// one Union (a copy of everything so far) per operand.
type unionAcc struct {
	names    *Builder // literal names, added without building a NodeSet
	pats     map[string]*accPat
	autostep int
	n        int
}

type accPat struct {
	parts []string
	sp    []span
	vecs  []vec
}

func (a *unionAcc) empty() bool { return a.n == 0 && a.names == nil }

// builder returns the Builder collecting literal names.
func (a *unionAcc) builder() *Builder {
	if a.names == nil {
		a.names = new(Builder)
	}
	return a.names
}

func (a *unionAcc) add(s NodeSet) {
	if a.autostep == 0 {
		a.autostep = s.autostep
	}
	if len(s.pats) == 0 {
		return
	}
	if a.pats == nil {
		a.pats = make(map[string]*accPat)
	}
	a.n++
	for i := range s.pats {
		p := &s.pats[i]
		ap := a.pats[p.key]
		if ap == nil {
			ap = &accPat{parts: p.parts}
			a.pats[p.key] = ap
		}
		switch p.dims() {
		case 0:
		case 1:
			ap.sp = append(ap.sp, p.rs.sp...)
		default:
			ap.vecs = append(ap.vecs, p.nd...)
		}
	}
}

// result returns the union and resets the accumulator.
func (a *unionAcc) result() NodeSet {
	if a.names != nil {
		nb := a.names
		a.names = nil
		ns := nb.NodeSet()
		if a.n == 0 {
			ns.autostep = a.autostep
			*a = unionAcc{}
			return ns
		}
		a.add(ns)
	}
	keys := make([]string, 0, len(a.pats))
	for k := range a.pats {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	out := NodeSet{autostep: a.autostep}
	for _, k := range keys {
		ap := a.pats[k]
		pt := pat{key: k, parts: ap.parts}
		switch len(ap.parts) - 1 {
		case 0:
		case 1:
			pt.rs = RangeSet{slices.Clip(normalize(ap.sp))}
		default:
			if len(ap.vecs) == 1 {
				pt.nd = ap.vecs
			} else {
				pt.nd = ndFold(ap.vecs)
			}
		}
		out.pats = append(out.pats, pt)
	}
	*a = unionAcc{}
	return out
}
