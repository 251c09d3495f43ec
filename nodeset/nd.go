package nodeset

import (
	"bytes"
	"slices"
)

// This file holds the n-dimensional part: a pattern with several digit
// runs ("da%sc%s") stores a list of boxes (vec). After every operation the
// list is folded exactly as ClusterShell's RangeSetND folds it, so that
// String prints the same boxes in the same order:
//   - one box is kept as is;
//   - boxes that differ in one axis only are merged along it;
//   - otherwise the boxes are expanded into points, then merged greedily
//     (sort by size and bounds, merge neighbours that differ in one axis,
//     repeat; then the same with all pairs).

// ndFold folds vecs (which may overlap) into ClusterShell's canonical boxes.
func ndFold(vecs []vec) []vec {
	out := vecs[:0:0]
	for _, v := range vecs {
		empty := false
		for _, r := range v {
			if r.IsEmpty() {
				empty = true
				break
			}
		}
		if !empty {
			out = append(out, v)
		}
	}
	vecs = out
	if len(vecs) <= 1 {
		return vecs
	}
	if u, ok := univariate(vecs); ok {
		return u
	}
	return ndMultivariate(vecs)
}

// univariate merges boxes that are all equal but in one axis, as
// ClusterShell's _fold_univariate.
func univariate(vecs []vec) ([]vec, bool) {
	d := len(vecs[0])
	diff, vardim := 0, -1
	for k := 0; k < d && diff <= 1; k++ {
		for _, v := range vecs[1:] {
			if !v[k].Equal(vecs[0][k]) {
				diff++
				vardim = k
				break
			}
		}
	}
	if diff == 1 {
		r := vecs[0][vardim]
		for _, v := range vecs[1:] {
			r = r.Union(v[vardim])
		}
		nv := slices.Clone(vecs[0])
		nv[vardim] = r
		return []vec{nv}, true
	}
	return nil, false
}

// ndMultivariate expands vecs into points and merges them back.
func ndMultivariate(vecs []vec) []vec {
	d := len(vecs[0])
	n := 0
	for _, v := range vecs {
		n += v.card()
	}
	pts := make([]elem, 0, n*d)
	cur := make([]elem, d)
	var rec func(v vec, k int)
	rec = func(v vec, k int) {
		if k == d {
			pts = append(pts, cur...)
			return
		}
		for _, s := range v[k].sp {
			for x := s.lo; ; x += s.step() {
				cur[k] = elem{s.w, x}
				rec(v, k+1)
				if x == s.hi {
					break
				}
			}
		}
	}
	for _, v := range vecs {
		rec(v, 0)
	}
	return pointsFold(pts, d)
}

// compareElemText compares the texts of two indexes as strings.
func compareElemText(a, b elem) int {
	if a.w == b.w && a.w > 0 {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	}
	var ba, bb [32]byte
	return bytes.Compare(appendElem(ba[:0], a.w, a.v), appendElem(bb[:0], b.w, b.v))
}

// cmpBox orders boxes as ClusterShell's RangeSetND._sort: decreasing
// size (ca, cb), then per axis decreasing length, first and last index
// text.
func cmpBox(ca, cb int, a, b vec) int {
	if ca != cb {
		if ca > cb {
			return -1
		}
		return 1
	}
	for i := range a {
		x, y := a[i], b[i]
		if nx, ny := x.Len(), y.Len(); nx != ny {
			if nx > ny {
				return -1
			}
			return 1
		}
		fx, fy := x.sp[0], y.sp[0]
		if c := compareElemText(elem{fx.w, fx.lo}, elem{fy.w, fy.lo}); c != 0 {
			return c
		}
		lx, ly := x.sp[len(x.sp)-1], y.sp[len(y.sp)-1]
		if c := compareElemText(elem{lx.w, lx.hi}, elem{ly.w, ly.hi}); c != 0 {
			return c
		}
	}
	return 0
}

// mergeAxis reports whether boxes a and b merge into one box (they are
// equal but in at most one axis, where they are disjoint or nested), and
// returns that axis (-1: equal boxes) and its merged range set.
func mergeAxis(a, b vec) (int, RangeSet, bool) {
	axis := -1
	var m RangeSet
	for k := range a {
		r1, r2 := a[k], b[k]
		if r1.Equal(r2) {
			continue
		}
		if axis >= 0 {
			return 0, RangeSet{}, false
		}
		axis = k
		switch {
		case !r1.Intersects(r2):
			m = RangeSet{} // union computed below, once sure
		case r2.IsSubset(r1):
			m = r1
		case r1.IsSubset(r2):
			m = r2
		default:
			return 0, RangeSet{}, false
		}
	}
	if axis >= 0 && m.sp == nil {
		m = RangeSet{unionSpans(a[axis].sp, b[axis].sp)}
	}
	return axis, m, true
}

// ndMerge is ClusterShell's _fold_multivariate_merge.
func ndMerge(vl []vec) []vec {
	full := false
	chg := true
	var cards []int
	var perm []int32
	var tmp []vec
	var dead []bool
	for chg {
		chg = false
		cards = slices.Grow(cards[:0], len(vl))[:len(vl)]
		for i, v := range vl {
			cards[i] = v.card()
		}
		// stable sort; boxes often arrive sorted already
		sorted := true
		for i := 1; i < len(vl); i++ {
			if cmpBox(cards[i-1], cards[i], vl[i-1], vl[i]) > 0 {
				sorted = false
				break
			}
		}
		if !sorted {
			perm = slices.Grow(perm[:0], len(vl))[:len(vl)]
			for i := range perm {
				perm[i] = int32(i)
			}
			slices.SortFunc(perm, func(x, y int32) int {
				if c := cmpBox(cards[x], cards[y], vl[x], vl[y]); c != 0 {
					return c
				}
				return int(x - y)
			})
			tmp = append(tmp[:0], vl...)
			for i, x := range perm {
				vl[i] = tmp[x]
			}
		}
		dead = slices.Grow(dead[:0], len(vl))[:len(vl)]
		clear(dead)
		for i := 0; i < len(vl); i++ {
			if dead[i] {
				continue
			}
			owned := false // vl[i] was built here and may be changed in place
			for j := i + 1; j < len(vl); j++ {
				if dead[j] {
					continue
				}
				axis, m, ok := mergeAxis(vl[i], vl[j])
				if !ok {
					if !full {
						break
					}
					continue
				}
				chg = true
				dead[j] = true
				if axis < 0 {
					continue
				}
				if !owned {
					vl[i] = slices.Clone(vl[i])
					owned = true
				}
				vl[i][axis] = m
			}
		}
		out := vl[:0]
		for i, v := range vl {
			if !dead[i] {
				out = append(out, v)
			}
		}
		vl = out
		if !chg && !full {
			chg, full = true, true
		}
	}
	return vl
}

func ndUnion(a, b []vec) []vec {
	all := make([]vec, 0, len(a)+len(b))
	all = append(all, a...)
	all = append(all, b...)
	return ndFold(all)
}

func ndIntersection(a, b []vec) []vec {
	var out []vec
	for _, x := range a {
		for _, y := range b {
			nv := make(vec, len(x))
			ok := true
			for k := range x {
				nv[k] = x[k].Intersection(y[k])
				if nv[k].IsEmpty() {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, nv)
			}
		}
	}
	return ndFold(out)
}

// ndDifference is ClusterShell's RangeSetND.difference_update followed by
// a fold.
func ndDifference(a, b []vec) []vec {
	var res []vec
	for _, v1 := range a {
		proc := []vec{v1}
		for _, v2 := range b {
			var next []vec
			for _, p := range proc {
				var tmp []vec
				for k := range p {
					r1, r2 := p[k], v2[k]
					if r1.IsSubset(r2) {
						continue
					}
					if r1.Intersects(r2) {
						nv := slices.Clone(p)
						nv[k] = r1.Difference(r2)
						tmp = append(tmp, nv)
					} else {
						tmp = []vec{p}
						break
					}
				}
				next = append(next, tmp...)
			}
			proc = next
		}
		res = append(res, proc...)
	}
	return ndFold(res)
}

// ndSlicePos returns the boxes of positions lo, lo+step, ... < hi in the
// iteration order of p.
func ndSlicePos(p *pat, lo, hi, step int) []vec {
	var out []vec
	pos := 0
	next := lo
	for _, v := range p.nd {
		c := v.card()
		if next >= hi {
			break
		}
		if next >= pos+c {
			pos += c
			continue
		}
		end := min(hi, pos+c)
		if step == 1 {
			// contiguous positions: a few sub-boxes, no expansion
			out = append(out, sliceBox(v, next-pos, end-pos)...)
			next = end
		} else {
			for next < end {
				out = append(out, pointAt(v, next-pos))
				next += step
			}
		}
		pos += c
	}
	return ndFold(out)
}

// sliceBox returns boxes holding positions [a, b) of box v (row-major,
// last axis fastest).
func sliceBox(v vec, a, b int) []vec {
	if a >= b {
		return nil
	}
	if a == 0 && b == v.card() {
		return []vec{v}
	}
	if len(v) == 1 {
		return []vec{{v[0].slicePos(a, b, 1)}}
	}
	inner := vec(v[1:]).card()
	prefixed := func(i int, subs []vec) []vec {
		head := v[0].slicePos(i, i+1, 1)
		out := make([]vec, len(subs))
		for k, sv := range subs {
			out[k] = append(vec{head}, sv...)
		}
		return out
	}
	i0, r0 := a/inner, a%inner
	i1, r1 := b/inner, b%inner
	if i0 == i1 {
		return prefixed(i0, sliceBox(v[1:], r0, r1))
	}
	var out []vec
	if r0 > 0 {
		out = append(out, prefixed(i0, sliceBox(v[1:], r0, inner))...)
		i0++
	}
	if i0 < i1 {
		out = append(out, append(vec{v[0].slicePos(i0, i1, 1)}, v[1:]...))
	}
	if r1 > 0 {
		out = append(out, prefixed(i1, sliceBox(v[1:], 0, r1))...)
	}
	return out
}

// pointAt returns the i-th point of box v (last axis fastest) as a box.
func pointAt(v vec, i int) vec {
	d := len(v)
	p := make(vec, d)
	for k := d - 1; k >= 0; k-- {
		n := v[k].Len()
		w, x, _ := v[k].elemAt(i % n)
		i /= n
		p[k] = RangeSet{[]span{{w: w, lo: x, hi: x}}}
	}
	return p
}

// ndContiguous cuts boxes into boxes whose axes are each contiguous,
// as RangeSetND.contiguous.
func ndContiguous(vl []vec, autostep int) []vec {
	if len(vl) == 0 {
		return nil
	}
	d := len(vl[0])
	for k := 0; k < d; k++ {
		var nl []vec
		for _, v := range vl {
			for _, c := range v[k].contiguous(autostep) {
				nv := slices.Clone(v)
				nv[k] = c
				nl = append(nl, nv)
			}
		}
		vl = nl
	}
	return vl
}
