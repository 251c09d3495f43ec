package nodeset

import (
	"iter"
	"math"
	"slices"
	"strings"
)

// NodeSet is an immutable, ordered set of node names, ClusterShell's
// NodeSet. Names are grouped by pattern (the name with every run of digits
// replaced by a placeholder, e.g. "node%s" or "da%sc%s"); each pattern
// holds its indexes as intervals, so very large sets (node[1-10000000])
// cost memory in proportion to their number of ranges, not of nodes.
// The zero value is the empty set. NodeSet values are safe for concurrent
// use; every operation returns a new value.
type NodeSet struct {
	pats     []pat // sorted by key
	autostep int   // 0: disabled
}

// pat is one pattern of a NodeSet with its indexes.
type pat struct {
	key   string   // ClusterShell pattern text: "%s" placeholders, "%%" for '%'
	parts []string // literal text around placeholders, len == dims+1
	rs    RangeSet // dims == 1
	nd    []vec    // dims >= 2, folded as ClusterShell's RangeSetND
}

func (p *pat) dims() int { return len(p.parts) - 1 }

// vec is one n-dimensional box: the cartesian product of its range sets.
type vec []RangeSet

func (v vec) card() int {
	n := 1
	for _, r := range v {
		n *= r.Len()
	}
	return n
}

// keyParts splits a pattern key into its literal parts.
func keyParts(key string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(key); i++ {
		if key[i] == '%' && i+1 < len(key) {
			if key[i+1] == 's' {
				parts = append(parts, cur.String())
				cur.Reset()
				i++
				continue
			}
			if key[i+1] == '%' {
				cur.WriteByte('%')
				i++
				continue
			}
		}
		cur.WriteByte(key[i])
	}
	return append(parts, cur.String())
}

// Len returns the number of nodes in s.
func (s NodeSet) Len() int {
	n := 0
	for i := range s.pats {
		p := &s.pats[i]
		switch p.dims() {
		case 0:
			n++
		case 1:
			n += p.rs.Len()
		default:
			for _, v := range p.nd {
				n += v.card()
			}
		}
	}
	return n
}

// IsEmpty reports whether s has no node.
func (s NodeSet) IsEmpty() bool { return len(s.pats) == 0 }

// Autostep returns the autostep threshold used by String (0: disabled).
func (s NodeSet) Autostep() int { return s.autostep }

// WithAutostep returns s printed with ClusterShell's autostep threshold n:
// ranges of at least n indexes at equal distance fold as "a-b/step".
// 0 disables it (the default). ClusterShell treats every value below 1
// like 1, and so does WithAutostep for negative n; pass 1 for a user's 0.
func (s NodeSet) WithAutostep(n int) NodeSet {
	s.autostep = normAutostep(n)
	return s
}

func normAutostep(n int) int {
	if n < 0 {
		return 1
	}
	return n
}

// Equal reports whether s and o hold the same nodes.
func (s NodeSet) Equal(o NodeSet) bool {
	if len(s.pats) != len(o.pats) {
		return false
	}
	if s.Len() != o.Len() {
		return false
	}
	for i := range s.pats {
		a, b := &s.pats[i], &o.pats[i]
		if a.key != b.key {
			return false
		}
		switch a.dims() {
		case 0:
		case 1:
			if !a.rs.Equal(b.rs) {
				return false
			}
		default:
			if len(ndDifference(a.nd, b.nd)) != 0 || len(ndDifference(b.nd, a.nd)) != 0 {
				return false
			}
		}
	}
	return true
}

// compareStringBytes compares a string with a byte slice, as
// strings.Compare, without converting.
func compareStringBytes(a string, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// find returns the position of key in s.pats.
func (s NodeSet) find(key string) (int, bool) {
	return slices.BinarySearchFunc(s.pats, key, func(p pat, k string) int { return strings.Compare(p.key, k) })
}

// combine merges the patterns of s and o with per-pattern operations.
// onlyA/onlyB report whether patterns present in one side only are kept.
func combine(s, o NodeSet, onlyA, onlyB bool, both func(a, b *pat) (pat, bool)) NodeSet {
	out := NodeSet{autostep: s.autostep}
	if out.autostep == 0 {
		out.autostep = o.autostep
	}
	res := make([]pat, 0, len(s.pats)+len(o.pats))
	i, j := 0, 0
	for i < len(s.pats) || j < len(o.pats) {
		var c int
		switch {
		case i == len(s.pats):
			c = 1
		case j == len(o.pats):
			c = -1
		default:
			c = strings.Compare(s.pats[i].key, o.pats[j].key)
		}
		switch {
		case c < 0:
			if onlyA {
				res = append(res, s.pats[i])
			}
			i++
		case c > 0:
			if onlyB {
				res = append(res, o.pats[j])
			}
			j++
		default:
			if p, ok := both(&s.pats[i], &o.pats[j]); ok {
				res = append(res, p)
			}
			i++
			j++
		}
	}
	if len(res) > 0 {
		out.pats = res
	}
	return out
}

// Union returns the nodes in s or o.
func (s NodeSet) Union(o NodeSet) NodeSet {
	if len(o.pats) == 0 && (s.autostep != 0 || o.autostep == 0) {
		return s
	}
	return combine(s, o, true, true, func(a, b *pat) (pat, bool) {
		r := *a
		switch a.dims() {
		case 0:
		case 1:
			r.rs = a.rs.Union(b.rs)
		default:
			r.nd = ndUnion(a.nd, b.nd)
		}
		return r, true
	})
}

// Intersection returns the nodes in both s and o.
func (s NodeSet) Intersection(o NodeSet) NodeSet {
	return combine(s, o, false, false, func(a, b *pat) (pat, bool) {
		r := *a
		switch a.dims() {
		case 0:
			return r, true
		case 1:
			r.rs = a.rs.Intersection(b.rs)
			return r, !r.rs.IsEmpty()
		default:
			r.nd = ndIntersection(a.nd, b.nd)
			return r, len(r.nd) > 0
		}
	})
}

// Difference returns the nodes in s and not in o.
func (s NodeSet) Difference(o NodeSet) NodeSet {
	return combine(s, o, true, false, func(a, b *pat) (pat, bool) {
		r := *a
		switch a.dims() {
		case 0:
			return r, false
		case 1:
			r.rs = a.rs.Difference(b.rs)
			return r, !r.rs.IsEmpty()
		default:
			r.nd = ndDifference(a.nd, b.nd)
			return r, len(r.nd) > 0
		}
	})
}

// SymmetricDifference returns the nodes in exactly one of s and o.
func (s NodeSet) SymmetricDifference(o NodeSet) NodeSet {
	return combine(s, o, true, true, func(a, b *pat) (pat, bool) {
		r := *a
		switch a.dims() {
		case 0:
			return r, false
		case 1:
			r.rs = a.rs.SymmetricDifference(b.rs)
			return r, !r.rs.IsEmpty()
		default:
			r.nd = ndUnion(ndDifference(a.nd, b.nd), ndDifference(b.nd, a.nd))
			return r, len(r.nd) > 0
		}
	})
}

// IsSubset reports whether every node of s is in o.
func (s NodeSet) IsSubset(o NodeSet) bool {
	for i := range s.pats {
		a := &s.pats[i]
		k, ok := o.find(a.key)
		if !ok {
			return false
		}
		b := &o.pats[k]
		switch a.dims() {
		case 0:
		case 1:
			if !a.rs.IsSubset(b.rs) {
				return false
			}
		default:
			if len(ndDifference(a.nd, b.nd)) != 0 {
				return false
			}
		}
	}
	return true
}

// Contains reports whether the node name is in s. name is one literal
// node name (no brackets or operators).
func (s NodeSet) Contains(name string) bool {
	var kbuf [64]byte
	var ebuf [8]elem
	key, el, ok := scanName(name, kbuf[:0], ebuf[:0])
	if !ok {
		return false
	}
	lo, hi := 0, len(s.pats)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareStringBytes(s.pats[m].key, key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(s.pats) || compareStringBytes(s.pats[lo].key, key) != 0 {
		return false
	}
	k := lo
	p := &s.pats[k]
	switch p.dims() {
	case 0:
		return true
	case 1:
		return p.rs.containsElem(el[0].w, el[0].v)
	default:
	vecs:
		for _, v := range p.nd {
			for d, r := range v {
				if !r.containsElem(el[d].w, el[d].v) {
					continue vecs
				}
			}
			return true
		}
		return false
	}
}

// All returns the node names of s in ClusterShell's order: patterns in
// order, then indexes in order (n-dimensional patterns box by box).
func (s NodeSet) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		var buf []byte
		s.walk(func(b []byte) bool { return yield(string(b)) }, &buf)
	}
}

// AppendAll calls fn with each node name (in the order of All) appended to
// a reused buffer; fn must not retain the slice. It allocates nothing per
// node, which makes it the fast way to expand large sets.
func (s NodeSet) AppendAll(fn func(name []byte) bool) {
	var buf []byte
	s.walk(fn, &buf)
}

func (s NodeSet) walk(fn func([]byte) bool, bufp *[]byte) {
	buf := *bufp
	defer func() { *bufp = buf }()
	for i := range s.pats {
		p := &s.pats[i]
		switch p.dims() {
		case 0:
			buf = append(buf[:0], p.parts[0]...)
			if !fn(buf) {
				return
			}
		case 1:
			pre, suf := p.parts[0], p.parts[1]
			for _, sp := range p.rs.sp {
				for v := sp.lo; ; v += sp.step() {
					buf = append(buf[:0], pre...)
					buf = appendElem(buf, sp.w, v)
					buf = append(buf, suf...)
					if !fn(buf) {
						return
					}
					if v == sp.hi {
						break
					}
				}
			}
		default:
			for _, v := range p.nd {
				if !walkVec(p.parts, v, fn, &buf) {
					return
				}
			}
		}
	}
}

// walkVec enumerates the product of v in order (last dimension fastest).
func walkVec(parts []string, v vec, fn func([]byte) bool, bufp *[]byte) bool {
	d := len(v)
	type cur struct {
		si  int
		val int64
	}
	pos := make([]cur, d)
	for k := range pos {
		pos[k] = cur{0, v[k].sp[0].lo}
	}
	for {
		buf := (*bufp)[:0]
		for k := 0; k < d; k++ {
			buf = append(buf, parts[k]...)
			buf = appendElem(buf, v[k].sp[pos[k].si].w, pos[k].val)
		}
		buf = append(buf, parts[d]...)
		*bufp = buf
		if !fn(buf) {
			return false
		}
		k := d - 1
		for ; k >= 0; k-- {
			c := &pos[k]
			sp := v[k].sp
			if c.val < sp[c.si].hi {
				c.val += sp[c.si].step()
				break
			}
			if c.si+1 < len(sp) {
				c.si++
				c.val = sp[c.si].lo
				break
			}
			c.si, c.val = 0, sp[0].lo
		}
		if k < 0 {
			return true
		}
	}
}

// String returns s folded, byte for byte as ClusterShell 1.9's str().
func (s NodeSet) String() string { return string(s.AppendTo(nil)) }

// AppendTo appends the folded text of s to b.
func (s NodeSet) AppendTo(b []byte) []byte { return s.appendFold(b, nil) }

// FoldAxis returns s folded only along the given n-dimensional axes
// (0-based, negative counts from the last axis), ClusterShell's fold_axis;
// other axes are expanded. A nil axes folds every axis, as String.
func (s NodeSet) FoldAxis(axes []int) string {
	if axes == nil {
		return s.String()
	}
	return string(s.appendFold(nil, axes))
}

func (s NodeSet) appendFold(b []byte, axes []int) []byte {
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	vsep := func(x []byte) []byte {
		if !first {
			x = append(x, ',')
		}
		first = false
		return x
	}
	for i := range s.pats {
		p := &s.pats[i]
		switch p.dims() {
		case 0:
			sep()
			b = append(b, p.parts[0]...)
		case 1:
			fold1 := axes == nil
			for _, a := range axes {
				if a == 0 || a == -1 {
					fold1 = true
				}
			}
			if fold1 {
				sep()
				b = append(b, p.parts[0]...)
				if p.rs.Len() > 1 {
					b = append(b, '[')
					b = appendFold(b, p.rs.sp, s.autostep)
					b = append(b, ']')
				} else {
					b = appendFold(b, p.rs.sp, s.autostep)
				}
				b = append(b, p.parts[1]...)
			} else {
				s.walk1(p, func(n []byte) { sep(); b = append(b, n...) })
			}
		default:
			for _, v := range p.nd {
				b = s.appendVec(b, p, v, axes, vsep)
			}
		}
	}
	return b
}

func (s NodeSet) walk1(p *pat, fn func([]byte)) {
	var buf []byte
	for _, sp := range p.rs.sp {
		for v := sp.lo; ; v += sp.step() {
			buf = append(buf[:0], p.parts[0]...)
			buf = appendElem(buf, sp.w, v)
			buf = append(buf, p.parts[1]...)
			fn(buf)
			if v == sp.hi {
				break
			}
		}
	}
}

// appendVec appends the text of one nD box, expanding the axes that are
// not folded (ClusterShell's _iter_nd_pat).
func (s NodeSet) appendVec(b []byte, p *pat, v vec, axes []int, sep func([]byte) []byte) []byte {
	d := len(v)
	fold := make([]bool, d)
	if axes == nil {
		for k := range fold {
			fold[k] = true
		}
	} else {
		for _, a := range axes {
			if a >= -d && a < d {
				fold[((a%d)+d)%d] = true
			}
		}
	}
	// choices per axis: either one folded text or each index text
	choices := make([][]string, d)
	for k, r := range v {
		switch {
		case r.Len() <= 1:
			choices[k] = []string{string(appendFold(nil, r.sp, s.autostep))}
		case fold[k]:
			choices[k] = []string{"[" + string(appendFold(nil, r.sp, s.autostep)) + "]"}
		default:
			for e := range r.All() {
				choices[k] = append(choices[k], e)
			}
		}
	}
	// Python builds the product with the first axis varying fastest.
	idx := make([]int, d)
	for {
		b = sep(b)
		for k := 0; k < d; k++ {
			b = append(b, p.parts[k]...)
			b = append(b, choices[k][idx[k]]...)
		}
		b = append(b, p.parts[d]...)
		k := 0
		for ; k < d; k++ {
			idx[k]++
			if idx[k] < len(choices[k]) {
				break
			}
			idx[k] = 0
		}
		if k == d {
			return b
		}
	}
}

// Index returns the i-th node of s in the order of All (negative i counts
// from the end), and false when i is out of range.
func (s NodeSet) Index(i int) (string, bool) {
	n := s.Len()
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return "", false
	}
	one := s.slicePos(i, i+1, 1)
	for name := range one.All() {
		return name, true
	}
	return "", false
}

// Slice returns the nodes at positions start:stop:step of s, with Python's
// slice semantics as ClusterShell's ns[start:stop:step]: negative start or
// stop count from the end, math.MaxInt is an open stop, and a negative
// step (with start 0 and stop math.MaxInt, i.e. "::-n") selects every n-th
// node counted from the last one.
func (s NodeSet) Slice(start, stop, step int) NodeSet {
	n := s.Len()
	if step == 0 {
		return NodeSet{autostep: s.autostep}
	}
	if step < 0 {
		step = -step
		start, stop = 0, n
		if m := (n + step - 1) % step; m > 0 {
			start += m
		}
		return s.slicePos(start, stop, step)
	}
	start, stop, step = resolveSlice(n, start, stop, step)
	return s.slicePos(start, stop, step)
}

// slicePos selects positions start, start+step, ... < stop.
func (s NodeSet) slicePos(start, stop, step int) NodeSet {
	out := NodeSet{autostep: s.autostep}
	if start >= stop {
		return out
	}
	pos := 0
	for i := range s.pats {
		if start >= stop {
			break
		}
		p := &s.pats[i]
		var cnt int
		switch p.dims() {
		case 0:
			cnt = 1
		case 1:
			cnt = p.rs.Len()
		default:
			for _, v := range p.nd {
				cnt += v.card()
			}
		}
		if start >= pos+cnt {
			pos += cnt
			continue
		}
		lo, hi := start-pos, min(stop, pos+cnt)-pos
		r := *p
		switch p.dims() {
		case 0:
		case 1:
			r.rs = p.rs.slicePos(lo, hi, step)
		default:
			r.nd = ndSlicePos(p, lo, hi, step)
		}
		out.pats = append(out.pats, r)
		// next selected position after this pattern
		last := lo + ((hi-1-lo)/step)*step
		start = pos + last + step
		pos += cnt
	}
	return out
}

// Split splits s into at most n parts of equal size (the first ones one
// node larger), as ClusterShell's split(n).
func (s NodeSet) Split(n int) []NodeSet {
	return splitParts(s.Len(), n, func(begin, end int) NodeSet { return s.slicePos(begin, end, 1) })
}

// Contiguous returns s cut into subsets of one pattern and one contiguous
// range of indexes each (ClusterShell's contiguous()). When s has an autostep, a
// trailing stepped run is one subset, as in ClusterShell; the subsets
// themselves print without autostep.
func (s NodeSet) Contiguous() []NodeSet {
	var out []NodeSet
	for i := range s.pats {
		p := &s.pats[i]
		switch p.dims() {
		case 0:
			out = append(out, NodeSet{pats: []pat{*p}})
		case 1:
			for _, r := range p.rs.contiguous(s.autostep) {
				q := *p
				q.rs = r
				out = append(out, NodeSet{pats: []pat{q}})
			}
		default:
			for _, v := range ndContiguous(p.nd, s.autostep) {
				q := *p
				q.nd = []vec{v}
				out = append(out, NodeSet{pats: []pat{q}})
			}
		}
	}
	return out
}

// Patterns returns the number of distinct patterns in s (diagnostics).
func (s NodeSet) Patterns() int { return len(s.pats) }

var _ = math.MaxInt
