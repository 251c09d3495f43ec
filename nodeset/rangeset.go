package nodeset

import (
	"iter"
	"math"
	"slices"
	"strconv"
)

// An index is identified, as in ClusterShell 1.9, by its text: "7", "07"
// and "007" are three different indexes. The text of a non-negative index
// is its value written with at least w digits, so the pair (w, v) names it
// exactly; negative indexes are never padded and use w == 0. ClusterShell
// orders indexes by (text length, text) for non-negative ones, after all
// negative ones in numeric order, which is exactly the order of (w, v).

// maxIndex is the largest index value accepted (values are int64 and
// intervals use hi+1 internally).
const maxIndex = math.MaxInt64 - 1

// span is an inclusive interval of indexes of the same width w.
type span struct {
	w      int32
	st     int32 // 0: contiguous; >= 2: every st-th index from lo to hi (see step.go)
	lo, hi int64
}

// RangeSet is an immutable set of indexes, ClusterShell's RangeSet: each
// index keeps the zero padding it was written with. The zero value is the
// empty set. RangeSet values are safe for concurrent use.
type RangeSet struct {
	sp []span // sorted by (w, lo), disjoint, non-adjacent within a width
}

// pow10tab[i] is 10^i for i <= 18.
var pow10tab = func() [19]int64 {
	var t [19]int64
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// pow10 returns 10^n, saturated at MaxInt64.
func pow10(n int) int64 {
	if n < len(pow10tab) {
		return pow10tab[n]
	}
	return math.MaxInt64
}

// ndigits is the number of decimal digits of v >= 0.
func ndigits(v int64) int {
	n := 1
	for n < len(pow10tab) && v >= pow10tab[n] {
		n++
	}
	return n
}

// widthMax is the largest value whose text fits in w digits.
func widthMax(w int32) int64 {
	p := pow10(int(w))
	if p == math.MaxInt64 {
		return maxIndex
	}
	return p - 1
}

// appendSpansRange appends to dst the spans of the indexes lo..hi written
// with zero padding pad (pad 0 or 1: no padding), as "%0*d" would.
func appendSpansRange(dst []span, lo, hi int64, pad int) []span {
	if lo > hi {
		return dst
	}
	if lo < 0 {
		h := hi
		if h > -1 {
			h = -1
		}
		dst = append(dst, span{w: 0, lo: lo, hi: h})
		if hi < 0 {
			return dst
		}
		lo = 0
	}
	if pad > 1 {
		m := widthMax(int32(pad))
		if lo <= m {
			h := hi
			if h > m {
				h = m
			}
			dst = append(dst, span{w: int32(pad), lo: lo, hi: h})
			if hi <= m {
				return dst
			}
			lo = m + 1
		}
	}
	for d := ndigits(lo); lo <= hi; d++ {
		m := widthMax(int32(d))
		h := hi
		if h > m {
			h = m
		}
		dst = append(dst, span{w: int32(d), lo: lo, hi: h})
		if h == maxIndex {
			break
		}
		lo = h + 1
	}
	return dst
}

// normalize sorts and merges spans into canonical form (in place).
func normalize(sp []span) []span {
	if len(sp) <= 1 {
		return sp
	}
	if hasSteps(sp) {
		return normalizeSteps(sp)
	}
	sorted := true
	for i := 1; i < len(sp); i++ {
		if cmpSpanStart(sp[i-1], sp[i]) > 0 {
			sorted = false
			break
		}
	}
	if !sorted {
		if ps, ok := sortPacked(sp); ok {
			sp = ps
		} else {
			slices.SortFunc(sp, cmpSpanStart)
		}
	}
	out := sp[:1]
	for _, s := range sp[1:] {
		last := &out[len(out)-1]
		if s.w == last.w && s.lo <= last.hi+1 {
			if s.hi > last.hi {
				last.hi = s.hi
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// sortPacked sorts spans made mostly of single indexes (of width < 32
// and value < 2^58) by sorting their indexes as packed integers, a much
// faster sort. It returns the sorted single-index spans (to be merged by
// the caller), or false when sp does not qualify.
func sortPacked(sp []span) ([]span, bool) {
	if len(sp) < 1024 {
		return nil, false
	}
	total := 0
	for _, x := range sp {
		if x.lo < 0 || x.hi >= 1<<58 || x.w >= 32 {
			return nil, false
		}
		total += int(x.hi - x.lo + 1)
		if total > 2*len(sp) {
			return nil, false
		}
	}
	keys := make([]uint64, 0, total)
	for _, x := range sp {
		for v := x.lo; v <= x.hi; v++ {
			keys = append(keys, uint64(x.w)<<58|uint64(v))
		}
	}
	slices.Sort(keys)
	out := sp
	if total > len(sp) {
		out = make([]span, total)
	}
	out = out[:total]
	for i, k := range keys {
		v := int64(k & (1<<58 - 1))
		out[i] = span{w: int32(k >> 58), lo: v, hi: v}
	}
	return out, true
}

func cmpSpanStart(a, b span) int {
	if a.w != b.w {
		if a.w < b.w {
			return -1
		}
		return 1
	}
	if a.lo != b.lo {
		if a.lo < b.lo {
			return -1
		}
		return 1
	}
	return 0
}

// RangeSetOf returns the set of the indexes lo..hi written with zero padding
// pad (0 for none). It returns the empty set when lo > hi.
func RangeSetOf(lo, hi int64, pad int) RangeSet {
	return RangeSet{sp: appendSpansRange(nil, lo, hi, pad)}
}

// Len returns the number of indexes in r.
func (r RangeSet) Len() int {
	n := 0
	for _, s := range r.sp {
		n += int(s.count())
	}
	return n
}

// IsEmpty reports whether r has no index.
func (r RangeSet) IsEmpty() bool { return len(r.sp) == 0 }

// Equal reports whether r and o hold the same indexes (padding included).
func (r RangeSet) Equal(o RangeSet) bool {
	if !hasSteps(r.sp) && !hasSteps(o.sp) {
		return slices.Equal(r.sp, o.sp)
	}
	return r.Len() == o.Len() && isSubsetSteps(r.sp, o.sp)
}

// Contains reports whether index (as written, e.g. "07") is in r.
func (r RangeSet) Contains(index string) bool {
	w, v, ok := parseIndexText(index)
	if !ok {
		return false
	}
	return r.containsElem(w, v)
}

func (r RangeSet) containsElem(w int32, v int64) bool {
	i, found := slices.BinarySearchFunc(r.sp, span{w: w, lo: v, hi: v}, cmpSpanStart)
	if found {
		return true
	}
	if i == 0 {
		return false
	}
	s := r.sp[i-1]
	return s.w == w && s.has(v)
}

// parseIndexText parses the text of one index ("12", "007", "-3").
func parseIndexText(s string) (int32, int64, bool) {
	if s == "" {
		return 0, 0, false
	}
	if s[0] == '-' {
		if len(s) == 1 || s[1] == '0' {
			return 0, 0, false
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		return 0, v, true
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		if v > (maxIndex-int64(c-'0'))/10 {
			return 0, 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return int32(len(s)), v, true
}

// appendElem appends the text of index (w, v).
func appendElem(dst []byte, w int32, v int64) []byte {
	if w == 0 {
		return strconv.AppendInt(dst, v, 10)
	}
	for n := ndigits(v); n < int(w); n++ {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, v, 10)
}

// appendPadded appends v formatted as "%0*d" % (pad, v).
func appendPadded(dst []byte, v int64, pad int) []byte {
	if pad <= 1 {
		return strconv.AppendInt(dst, v, 10)
	}
	if v < 0 {
		dst = append(dst, '-')
		v = -v
		pad--
	}
	for n := ndigits(v); n < pad; n++ {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, v, 10)
}

// All returns the indexes of r as text, in ClusterShell's order.
func (r RangeSet) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		var buf [64]byte
		for _, s := range r.sp {
			for v := s.lo; ; v += s.step() {
				if !yield(string(appendElem(buf[:0], s.w, v))) {
					return
				}
				if v == s.hi {
					break
				}
			}
		}
	}
}

// Ints returns the index values of r in ClusterShell's order (padding is
// dropped, so "7" and "07" both yield 7).
func (r RangeSet) Ints() iter.Seq[int64] {
	return func(yield func(int64) bool) {
		for _, s := range r.sp {
			for v := s.lo; ; v += s.step() {
				if !yield(v) {
					return
				}
				if v == s.hi {
					break
				}
			}
		}
	}
}

// elemAt returns the i-th index (0-based) of r.
func (r RangeSet) elemAt(i int) (int32, int64, bool) {
	if i < 0 {
		return 0, 0, false
	}
	for _, s := range r.sp {
		n := int(s.count())
		if i < n {
			return s.w, s.lo + int64(i)*s.step(), true
		}
		i -= n
	}
	return 0, 0, false
}

// Index returns the text of the i-th index of r (negative i counts from
// the end, as in Python).
func (r RangeSet) Index(i int) (string, bool) {
	if i < 0 {
		i += r.Len()
	}
	w, v, ok := r.elemAt(i)
	if !ok {
		return "", false
	}
	return string(appendElem(nil, w, v)), true
}

// setOp computes a boolean combination of two span lists in one sweep.
func setOp(a, b []span, keep func(inA, inB bool) bool) []span {
	var out []span
	ai, bi := 0, 0
	inA, inB, cur := false, false, false
	var start span
	bound := func(sp []span, k int) (int32, int64, bool) {
		if k >= 2*len(sp) {
			return math.MaxInt32, math.MaxInt64, false
		}
		s := sp[k/2]
		if k%2 == 0 {
			return s.w, s.lo, true
		}
		return s.w, s.hi + 1, true
	}
	for ai < 2*len(a) || bi < 2*len(b) {
		wa, pa, okA := bound(a, ai)
		wb, pb, okB := bound(b, bi)
		var w int32
		var p int64
		switch {
		case !okB || (okA && (wa < wb || (wa == wb && pa <= pb))):
			w, p = wa, pa
		default:
			w, p = wb, pb
		}
		if okA && wa == w && pa == p {
			inA = ai%2 == 0
			ai++
		}
		if okB && wb == w && pb == p {
			inB = bi%2 == 0
			bi++
		}
		k := keep(inA, inB)
		if k && !cur {
			start = span{w: w, lo: p}
			cur = true
		} else if !k && cur {
			start.hi = p - 1
			out = append(out, start)
			cur = false
		}
	}
	return out
}

// Union returns the indexes in r or o.
func (r RangeSet) Union(o RangeSet) RangeSet {
	if len(o.sp) == 0 {
		return r
	}
	if len(r.sp) == 0 {
		return o
	}
	return RangeSet{unionSpans(r.sp, o.sp)}
}

// Intersection returns the indexes in both r and o.
func (r RangeSet) Intersection(o RangeSet) RangeSet {
	if len(o.sp) == 0 || len(r.sp) == 0 {
		return RangeSet{}
	}
	return RangeSet{intersectSpans(r.sp, o.sp)}
}

// Difference returns the indexes in r and not in o.
func (r RangeSet) Difference(o RangeSet) RangeSet {
	if len(o.sp) == 0 || len(r.sp) == 0 {
		return r
	}
	return RangeSet{differenceSpans(r.sp, o.sp)}
}

// SymmetricDifference returns the indexes in exactly one of r and o.
func (r RangeSet) SymmetricDifference(o RangeSet) RangeSet {
	if len(o.sp) == 0 {
		return r
	}
	if len(r.sp) == 0 {
		return o
	}
	if hasSteps(r.sp) || hasSteps(o.sp) {
		return RangeSet{unionDisjoint(differenceSteps(r.sp, o.sp), differenceSteps(o.sp, r.sp))}
	}
	return RangeSet{setOp(r.sp, o.sp, func(a, b bool) bool { return a != b })}
}

// Intersects reports whether r and o share an index (no allocation).
func (r RangeSet) Intersects(o RangeSet) bool {
	if hasSteps(r.sp) || hasSteps(o.sp) {
		return intersectsSteps(r.sp, o.sp)
	}
	i, j := 0, 0
	for i < len(r.sp) && j < len(o.sp) {
		a, b := r.sp[i], o.sp[j]
		switch {
		case a.w < b.w || (a.w == b.w && a.hi < b.lo):
			i++
		case b.w < a.w || (a.w == b.w && b.hi < a.lo):
			j++
		default:
			return true
		}
	}
	return false
}

// IsSubset reports whether every index of r is in o (no allocation).
func (r RangeSet) IsSubset(o RangeSet) bool {
	if hasSteps(r.sp) || hasSteps(o.sp) {
		return isSubsetSteps(r.sp, o.sp)
	}
	j := 0
	for _, a := range r.sp {
		for j < len(o.sp) && (o.sp[j].w < a.w || (o.sp[j].w == a.w && o.sp[j].hi < a.lo)) {
			j++
		}
		if j == len(o.sp) {
			return false
		}
		b := o.sp[j]
		if b.w != a.w || b.lo > a.lo || b.hi < a.hi {
			return false
		}
	}
	return true
}

// slicePos returns the indexes at positions start, start+step, ... < stop
// (positions already resolved: 0 <= start, step > 0).
func (r RangeSet) slicePos(start, stop, step int) RangeSet {
	if step <= 0 || start >= stop {
		return RangeSet{}
	}
	var out []span
	pos := 0 // position of the first element of the current span
	next := start
	for _, s := range r.sp {
		n := int(s.count())
		if next >= stop {
			break
		}
		if next >= pos+n {
			pos += n
			continue
		}
		end := min(pos+n, stop) // exclusive
		st := s.step()
		first := s.lo + int64(next-pos)*st
		if step == 1 {
			out = append(out, mkSpan(s.w, first, s.lo+int64(end-1-pos)*st, st))
			next = end
		} else {
			k := (end - 1 - next) / step // positions selected after the first
			nst := int64(step) * st
			if k == 0 || nst <= math.MaxInt32 {
				out = append(out, mkSpan(s.w, first, first+int64(k)*nst, nst))
			} else {
				for v, i := first, 0; i <= k; v, i = v+nst, i+1 {
					out = append(out, span{w: s.w, lo: v, hi: v})
				}
			}
			next += (k + 1) * step
		}
		pos += n
	}
	return RangeSet{normalize(out)}
}

// resolveSlice turns Python slice arguments into start/stop/step over n
// elements, as sequence slicing does (negative step is not supported).
func resolveSlice(n, start, stop, step int) (int, int, int) {
	if start < 0 {
		start = max(0, n+start)
	}
	if stop < 0 {
		stop = max(0, n+stop)
	}
	stop = min(stop, n)
	return start, stop, step
}

// Slice returns the elements at positions start:stop:step with Python's
// slice semantics (negative start/stop count from the end; step must be
// positive). Use math.MaxInt for an open stop.
func (r RangeSet) Slice(start, stop, step int) RangeSet {
	if step <= 0 {
		return RangeSet{}
	}
	start, stop, step = resolveSlice(r.Len(), start, stop, step)
	return r.slicePos(start, stop, step)
}

// Split splits r into at most n parts of equal size (the first ones one
// larger), as ClusterShell's split.
func (r RangeSet) Split(n int) []RangeSet {
	return splitParts(r.Len(), n, func(begin, end int) RangeSet { return r.slicePos(begin, end, 1) })
}

// splitParts cuts l elements into at most n runs of equal size, the first
// ones one larger (ClusterShell's split), and returns part(begin, end) of
// each run in order.
func splitParts[T any](l, n int, part func(begin, end int) T) []T {
	if n <= 0 {
		return nil
	}
	size, left := l/n, l%n
	var out []T
	begin := 0
	for i := 0; i < min(n, l); i++ {
		ln := size
		if i < left {
			ln++
		}
		out = append(out, part(begin, begin+ln))
		begin += ln
	}
	return out
}

// endsBefore reports whether span a ends before span b starts in index order.
func endsBefore(a, b span) bool {
	return a.w < b.w || (a.w == b.w && a.hi < b.lo)
}

// unionSpans merges two canonical span lists.
func unionSpans(a, b []span) []span {
	if hasSteps(a) || hasSteps(b) {
		return unionSteps(a, b)
	}
	out := make([]span, 0, len(a)+len(b))
	add := func(s span) {
		if n := len(out); n > 0 {
			l := &out[n-1]
			if l.w == s.w && s.lo <= l.hi+1 {
				if s.hi > l.hi {
					l.hi = s.hi
				}
				return
			}
		}
		out = append(out, s)
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmpSpanStart(a[i], b[j]) <= 0 {
			add(a[i])
			i++
		} else {
			add(b[j])
			j++
		}
	}
	for ; i < len(a); i++ {
		add(a[i])
	}
	for ; j < len(b); j++ {
		add(b[j])
	}
	return out
}

// intersectSpans intersects two canonical span lists (a counting pass
// first, so that the result is allocated once at its exact size).
func intersectSpans(a, b []span) []span {
	if hasSteps(a) || hasSteps(b) {
		return intersectSteps(a, b)
	}
	n := intersectWalk(a, b, nil)
	if n == 0 {
		return nil
	}
	out := make([]span, 0, n)
	intersectWalk(a, b, &out)
	return out
}

// gallop returns the first position >= i of a span of sp that does not
// end before t (exponential then binary search: cheap for short skips,
// logarithmic for long ones).
func gallop(sp []span, i int, t span) int {
	step := 1
	lo := i // sp[lo] ends before t
	hi := i + 1
	for hi < len(sp) && endsBefore(sp[hi], t) {
		lo = hi
		step *= 2
		hi = lo + step
	}
	hi = min(hi, len(sp))
	// sp[lo] ends before t; answer in (lo, hi]
	for lo+1 < hi {
		m := int(uint(lo+hi) >> 1)
		if endsBefore(sp[m], t) {
			lo = m
		} else {
			hi = m
		}
	}
	return hi
}

// intersectWalk counts the spans of a∩b, appending them to *out if set.
func intersectWalk(a, b []span, out *[]span) int {
	n := 0
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, y := a[i], b[j]
		switch {
		case endsBefore(x, y):
			i++
			if i < len(a) && endsBefore(a[i], y) {
				i = gallop(a, i, y) // a long run to skip
			}
			continue
		case endsBefore(y, x):
			j++
			if j < len(b) && endsBefore(b[j], x) {
				j = gallop(b, j, x)
			}
			continue
		}
		n++
		if out != nil {
			*out = append(*out, span{w: x.w, lo: max(x.lo, y.lo), hi: min(x.hi, y.hi)})
		}
		if x.hi < y.hi {
			i++
		} else {
			j++
		}
	}
	return n
}

// differenceSpans removes the indexes of b from a.
func differenceSpans(a, b []span) []span {
	if hasSteps(a) || hasSteps(b) {
		return differenceSteps(a, b)
	}
	out := make([]span, 0, len(a))
	j := 0
	for _, x := range a {
		for j < len(b) && endsBefore(b[j], x) {
			j++
		}
		cur := x
		k := j
		for k < len(b) && !endsBefore(cur, b[k]) {
			y := b[k]
			// y overlaps cur (same width)
			if y.lo > cur.lo {
				out = append(out, span{w: cur.w, lo: cur.lo, hi: y.lo - 1})
			}
			if y.hi >= cur.hi {
				cur.lo = cur.hi + 1 // consumed
				break
			}
			cur.lo = y.hi + 1
			k++
		}
		if cur.lo <= cur.hi {
			out = append(out, cur)
		}
		j = k
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
