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
		if len(pb.sp) == cap(pb.sp) {
			pb.sp = slices.Grow(pb.sp, max(cap(pb.sp), 16)) // double: fewer copies than append's 1.25x
		}
		pb.sp = append(pb.sp, span{w: e.w, lo: e.v, hi: e.v})
	default:
		if len(pb.pts)+len(b.sc.el) > cap(pb.pts) {
			pb.pts = slices.Grow(pb.pts, max(cap(pb.pts), 64))
		}
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

// pointsFold folds nD points (dims elems each, in any order, duplicates
// allowed) as ClusterShell's RangeSetND does.
func pointsFold(pts []elem, dims int) []vec {
	n := len(pts) / dims
	if n == 0 {
		return nil
	}
	// sort by index texts, ClusterShell's order for single points
	cmp := func(a, b int32) int {
		x, y := pts[int(a)*dims:int(a)*dims+dims], pts[int(b)*dims:int(b)*dims+dims]
		for k := range x {
			if c := compareElemText(x[k], y[k]); c != 0 {
				return c
			}
		}
		return 0
	}
	sorted := pts
	strict := true // sorted without duplicates
	for i := 1; i < n && strict; i++ {
		strict = cmp(int32(i-1), int32(i)) < 0
	}
	if !strict {
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortFunc(idx, cmp)
		// deduplicate into a flat sorted copy
		sorted = make([]elem, 0, len(pts))
		for j, i := range idx {
			if j > 0 && cmp(idx[j-1], i) == 0 {
				continue
			}
			sorted = append(sorted, pts[int(i)*dims:int(i)*dims+dims]...)
		}
	}
	n = len(sorted) / dims
	// univariate: all points equal but in one axis -> one box
	diff, vardim := 0, -1
	for k := 0; k < dims && diff <= 1; k++ {
		for i := 1; i < n; i++ {
			if sorted[i*dims+k] != sorted[k] {
				diff++
				vardim = k
				break
			}
		}
	}
	if diff <= 1 {
		v := make(vec, dims)
		for k := range v {
			if k == vardim {
				var sp []span
				for i := 0; i < n; i++ {
					e := sorted[i*dims+k]
					sp = append(sp, span{w: e.w, lo: e.v, hi: e.v})
				}
				v[k] = RangeSet{normalize(sp)}
			} else {
				v[k] = RangeSet{[]span{{w: sorted[k].w, lo: sorted[k].v, hi: sorted[k].v}}}
			}
		}
		return []vec{v}
	}
	vl := pointsFirstPass(sorted, dims)
	if len(vl) <= 1 {
		return vl
	}
	return ndMerge(vl)
}

// pointsFirstPass runs the first (neighbour) merge pass of ClusterShell's
// multivariate fold directly on sorted unique points: each box absorbs
// the following points while the union stays one box.
func pointsFirstPass(pts []elem, dims int) []vec {
	n := len(pts) / dims
	// single-index range sets are shared between boxes (they are never
	// changed in place: a growing axis gets its own copy)
	singles := make([]map[elem]RangeSet, dims)
	for k := range singles {
		singles[k] = map[elem]RangeSet{}
	}
	single := func(k int, e elem) RangeSet {
		r, ok := singles[k][e]
		if !ok {
			r = RangeSet{[]span{{w: e.w, lo: e.v, hi: e.v}}}
			singles[k][e] = r
		}
		return r
	}
	var rsArena []RangeSet
	var out []vec
	for i := 0; i < n; {
		p := pts[i*dims : i*dims+dims]
		if len(rsArena)+dims > cap(rsArena) {
			rsArena = make([]RangeSet, 0, max(1024, dims*64))
		}
		start := len(rsArena)
		for k, e := range p {
			rsArena = append(rsArena, single(k, e))
		}
		v := vec(rsArena[start:len(rsArena):len(rsArena)])
		grown := -1 // the axis with its own growable span slice
		j := i + 1
		for ; j < n; j++ {
			q := pts[j*dims : j*dims+dims]
			nb, axis := 0, -1
			for k, e := range q {
				r := v[k]
				if len(r.sp) == 1 && r.sp[0].lo == r.sp[0].hi && r.sp[0].w == e.w && r.sp[0].lo == e.v {
					continue // equal
				}
				nb++
				if nb > 1 {
					break
				}
				if !r.containsElem(e.w, e.v) {
					axis = k // disjoint: union
				}
				// else: r is a proper superset of {e}, kept as is
			}
			if nb > 1 {
				break
			}
			if axis >= 0 {
				e := q[axis]
				if grown != axis {
					if grown >= 0 {
						// a second axis grows: copy-on-write below
						v[grown] = RangeSet{slices.Clip(v[grown].sp)}
					}
					v[axis] = RangeSet{append(make([]span, 0, 4), v[axis].sp...)}
					grown = axis
				}
				v[axis] = RangeSet{insertElem(v[axis].sp, e)}
			}
		}
		if grown >= 0 {
			v[grown] = RangeSet{slices.Clip(v[grown].sp)}
		}
		out = append(out, v)
		i = j
	}
	return out
}

// insertElem adds index e (not in sp) to canonical spans sp, in place
// when possible.
func insertElem(sp []span, e elem) []span {
	i, _ := slices.BinarySearchFunc(sp, span{w: e.w, lo: e.v, hi: e.v}, cmpSpanStart)
	// merge with the previous or next span when adjacent
	joinPrev := i > 0 && sp[i-1].w == e.w && sp[i-1].hi+1 == e.v
	joinNext := i < len(sp) && sp[i].w == e.w && sp[i].lo-1 == e.v
	switch {
	case joinPrev && joinNext:
		sp[i-1].hi = sp[i].hi
		return slices.Delete(sp, i, i+1)
	case joinPrev:
		sp[i-1].hi = e.v
		return sp
	case joinNext:
		sp[i].lo = e.v
		return sp
	}
	return slices.Insert(sp, i, span{w: e.w, lo: e.v, hi: e.v})
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
	first    NodeSet  // the only set added so far (n == 1)
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
	a.n++
	if a.n == 1 {
		// keep the first set as is: a single operand needs no merge
		a.first = s
		return
	}
	if a.n == 2 {
		a.n = 1
		a.gather(a.first)
		a.first = NodeSet{}
		a.n = 2
	}
	a.gather(s)
}

// gather appends the spans and boxes of s to the per-pattern lists.
func (a *unionAcc) gather(s NodeSet) {
	if a.pats == nil {
		a.pats = make(map[string]*accPat)
	}
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
	if a.n == 1 {
		out := a.first
		if out.autostep == 0 {
			out.autostep = a.autostep
		}
		*a = unionAcc{}
		return out
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
