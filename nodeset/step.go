package nodeset

import (
	"math"
	"slices"
)

// Stepped spans. A span with st >= 2 holds the indexes lo, lo+st, ...,
// hi of one width (hi-lo is a multiple of st and hi > lo); st == 0 is a
// contiguous interval. Spans of a canonical list are sorted by (w, lo)
// and their intervals [lo, hi] are disjoint within a width, so an index
// belongs to at most one span. A set has several such lists ({1, 3} may
// be one stepped span or two single ones), so comparisons are made on
// the indexes, never on the spans.

// step returns the distance between consecutive indexes of s.
func (s span) step() int64 {
	if s.st == 0 {
		return 1
	}
	return int64(s.st)
}

// count returns the number of indexes of s.
func (s span) count() int64 { return (s.hi-s.lo)/s.step() + 1 }

// has reports whether v is an index of s.
func (s span) has(v int64) bool {
	return v >= s.lo && v <= s.hi && (s.st == 0 || (v-s.lo)%int64(s.st) == 0)
}

// mkSpan returns the span lo..hi by st (st 0 or 1: contiguous).
func mkSpan(w int32, lo, hi, st int64) span {
	if lo == hi || st <= 1 {
		return span{w: w, lo: lo, hi: hi}
	}
	return span{w: w, lo: lo, hi: hi, st: int32(st)}
}

// clip returns the indexes of s within [l, h], and false when none is.
func (s span) clip(l, h int64) (span, bool) {
	if l > s.hi || h < s.lo || l > h {
		return span{}, false
	}
	lo, hi := s.lo, s.hi
	if s.st == 0 {
		return span{w: s.w, lo: max(lo, l), hi: min(hi, h)}, true
	}
	st := int64(s.st)
	if l > lo {
		d := l - lo
		q := d / st
		if d%st != 0 {
			q++
		}
		lo += q * st
	}
	if h < hi {
		hi = s.lo + ((h-s.lo)/st)*st
	}
	if lo > hi {
		return span{}, false
	}
	return mkSpan(s.w, lo, hi, st), true
}

// hasSteps reports whether some span of sp is stepped.
func hasSteps(sp []span) bool {
	for _, s := range sp {
		if s.st != 0 {
			return true
		}
	}
	return false
}

// pushSpan appends s, which starts after every index of out (in index
// order), merging it with the last span when they form one contiguous
// interval or one arithmetic progression.
func pushSpan(out []span, s span) []span {
	n := len(out)
	if n == 0 || out[n-1].w != s.w {
		return append(out, s)
	}
	l := &out[n-1]
	switch {
	case l.st == 0 && s.st == 0 && s.lo == l.hi+1:
		l.hi = s.hi
		return out
	case l.st != 0 && s.lo == l.hi+int64(l.st) && (s.st == l.st || s.lo == s.hi):
		l.hi = s.hi
		return out
	case l.lo == l.hi && s.st != 0 && s.lo-l.hi == int64(s.st):
		l.hi, l.st = s.hi, s.st
		return out
	case l.lo == l.hi && s.lo == s.hi && s.lo-l.hi >= 2 && s.lo-l.hi <= math.MaxInt32:
		l.hi, l.st = s.hi, int32(s.lo-l.hi)
		return out
	}
	return append(out, s)
}

// expandSteps returns sp with every stepped span replaced by its single
// indexes (the slow path for overlaps the span algebra does not handle).
func expandSteps(sp []span) []span {
	n := 0
	for _, s := range sp {
		n += int(s.count())
	}
	out := make([]span, 0, n)
	for _, s := range sp {
		if s.st == 0 {
			out = append(out, s)
			continue
		}
		for v := s.lo; ; v += int64(s.st) {
			out = append(out, span{w: s.w, lo: v, hi: v})
			if v == s.hi {
				break
			}
		}
	}
	return out
}

// sweepSteps canonicalizes spans sorted by (w, lo) that may overlap. It
// merges overlapping spans when the result is one span (contiguous ones,
// a span inside a contiguous one, progressions of the same step and
// phase), splits a progression around a span lying in one of its gaps,
// and reports false for other overlaps.
func sweepSteps(sp []span) ([]span, bool) {
	out := make([]span, 0, len(sp))
	var pend []span // tails of split progressions, smallest start last
	i := 0
	for i < len(sp) || len(pend) > 0 {
		var s span
		if k := len(pend) - 1; k >= 0 && (i == len(sp) || cmpSpanStart(pend[k], sp[i]) <= 0) {
			s, pend = pend[k], pend[:k]
		} else {
			s = sp[i]
			i++
		}
		// out is sorted and disjoint and s starts at or after every span
		// of out, so s can only overlap the last one
		if n := len(out); n > 0 && out[n-1].w == s.w && s.lo <= out[n-1].hi {
			l := &out[n-1]
			switch {
			case s.hi <= l.hi && (l.st == 0 || l.st == s.st && (s.lo-l.lo)%int64(l.st) == 0):
				continue // inside l
			case s.hi <= l.hi && s.lo == s.hi && l.has(s.lo):
				continue
			case l.st == 0 && s.st == 0:
				l.hi = s.hi
				continue
			case l.st != 0 && l.st == s.st && (s.lo-l.lo)%int64(l.st) == 0:
				l.hi = s.hi
				continue
			case l.lo == l.hi && l.lo == s.lo:
				out = pushSpan(out[:n-1], s)
				continue
			}
			if _, hit := l.clip(s.lo, s.hi); !hit {
				// s lies in a gap of the progression l: split l around it
				l1, _ := l.clip(l.lo, s.lo-1)
				l2, _ := l.clip(s.hi+1, l.hi)
				out = pushSpan(out[:n-1], l1)
				out = pushSpan(out, s)
				k, _ := slices.BinarySearchFunc(pend, l2, func(a, b span) int { return -cmpSpanStart(a, b) })
				pend = slices.Insert(pend, k, l2)
				continue
			}
			return nil, false
		}
		out = pushSpan(out, s)
	}
	return out, true
}

// normalizeSteps is normalize for lists with stepped spans.
func normalizeSteps(sp []span) []span {
	if !slices.IsSortedFunc(sp, cmpSpanStart) {
		slices.SortFunc(sp, cmpSpanStart)
	}
	if out, ok := sweepSteps(sp); ok {
		return out
	}
	return normalize(expandSteps(sp))
}

// gcd returns the greatest common divisor of a, b > 0.
func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// modInverse returns the inverse of a modulo m (gcd(a, m) == 1, m >= 1).
func modInverse(a, m int64) int64 {
	if m == 1 {
		return 0
	}
	t, nt := int64(0), int64(1)
	r, nr := m, a%m
	for nr != 0 {
		q := r / nr
		t, nt = nt, t-q*nt
		r, nr = nr, r-q*nr
	}
	if t < 0 {
		t += m
	}
	return t
}

// meet calls emit with the indexes common to x and y (spans of the same
// width whose intervals overlap), as one span or, when their common step
// does not fit a span, one span per index.
func meet(x, y span, emit func(span)) {
	l, h := max(x.lo, y.lo), min(x.hi, y.hi)
	if l > h {
		return
	}
	if x.st == 0 {
		if s, ok := y.clip(l, h); ok {
			emit(s)
		}
		return
	}
	if y.st == 0 {
		if s, ok := x.clip(l, h); ok {
			emit(s)
		}
		return
	}
	a, b := int64(x.st), int64(y.st)
	g := gcd(a, b)
	d := (y.lo - x.lo) % b
	if d < 0 {
		d += b
	}
	if d%g != 0 {
		return
	}
	// x.lo + a*k is in y's progression iff (a/g)*k == d/g (mod b/g)
	m := b / g
	k := (d / g % m) * modInverse(a/g%m, m) % m
	off := a * k
	if off > h-x.lo {
		return
	}
	v := x.lo + off // smallest common index >= x.lo
	L := a / g * b
	if v < l {
		q := (l - v) / L
		if (l-v)%L != 0 {
			q++
		}
		if q > (h-v)/L {
			return
		}
		v += q * L
	}
	if v > h {
		return
	}
	last := v + ((h-v)/L)*L
	if L <= math.MaxInt32 || v == last {
		emit(mkSpan(x.w, v, last, L))
		return
	}
	for ; ; v += L {
		emit(span{w: x.w, lo: v, hi: v})
		if v == last {
			return
		}
	}
}

// intersectSteps intersects canonical lists, some spans stepped.
func intersectSteps(a, b []span) []span {
	var out []span
	emit := func(s span) { out = pushSpan(out, s) }
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, y := a[i], b[j]
		switch {
		case endsBefore(x, y):
			i++
			continue
		case endsBefore(y, x):
			j++
			continue
		}
		meet(x, y, emit)
		if x.hi < y.hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// subtractOverlap appends the indexes of c not in y, where c lies inside
// y's interval.
func subtractOverlap(out []span, c, y span) []span {
	switch {
	case y.st == 0:
		return out
	case c.st == 0:
		prev := c.lo
		first, ok := y.clip(c.lo, c.hi)
		if ok {
			for v := first.lo; ; v += int64(y.st) {
				if v > prev {
					out = pushSpan(out, span{w: c.w, lo: prev, hi: v - 1})
				}
				prev = v + 1
				if v == first.hi {
					break
				}
			}
		}
		if prev <= c.hi {
			out = pushSpan(out, span{w: c.w, lo: prev, hi: c.hi})
		}
		return out
	case c.st == y.st:
		if (c.lo-y.lo)%int64(y.st) != 0 {
			out = pushSpan(out, c)
		}
		return out
	}
	for v := c.lo; ; v += int64(c.st) {
		if !y.has(v) {
			out = pushSpan(out, span{w: c.w, lo: v, hi: v})
		}
		if v == c.hi {
			return out
		}
	}
}

// differenceSteps removes the indexes of b from a (canonical lists, some
// spans stepped).
func differenceSteps(a, b []span) []span {
	out := make([]span, 0, len(a))
	j := 0
	for _, x := range a {
		for j < len(b) && endsBefore(b[j], x) {
			j++
		}
		cur, ok := x, true
		k := j
		for ok && k < len(b) && !endsBefore(cur, b[k]) {
			y := b[k]
			if y.lo > cur.lo {
				if p, ok2 := cur.clip(cur.lo, y.lo-1); ok2 {
					out = pushSpan(out, p)
				}
			}
			if mid, ok2 := cur.clip(y.lo, y.hi); ok2 {
				out = subtractOverlap(out, mid, y)
			}
			if y.hi >= cur.hi {
				ok = false
				break
			}
			cur, ok = cur.clip(y.hi+1, cur.hi)
			k++
		}
		if ok {
			out = pushSpan(out, cur)
		}
		j = k
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// mergeSorted merges two canonical lists into one list sorted by (w, lo).
func mergeSorted(a, b []span) []span {
	out := make([]span, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmpSpanStart(a[i], b[j]) <= 0 {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// unionSteps merges canonical lists, some spans stepped.
func unionSteps(a, b []span) []span {
	m := mergeSorted(a, b)
	if out, ok := sweepSteps(m); ok {
		return out
	}
	// a ∪ b = a ∪ (b \ a): b \ a does not overlap a, so the merge sweeps
	return unionDisjoint(a, differenceSteps(b, a))
}

// unionDisjoint merges canonical lists whose indexes are disjoint; it
// expands stepped spans only when their intervals interleave.
func unionDisjoint(a, b []span) []span {
	m := mergeSorted(a, b)
	if out, ok := sweepSteps(m); ok {
		return out
	}
	return normalize(expandSteps(m))
}

// isSubsetSteps reports whether every index of a is in b.
func isSubsetSteps(a, b []span) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && endsBefore(b[j], x) {
			j++
		}
		cur := x
		for {
			if j == len(b) {
				return false
			}
			y := b[j]
			if y.w != cur.w || y.lo > cur.lo {
				return false
			}
			part, _ := cur.clip(cur.lo, y.hi) // non-empty: cur.lo in [y.lo, y.hi]
			switch {
			case y.st == 0:
			case part.lo == part.hi:
				if !y.has(part.lo) {
					return false
				}
			case part.st == 0 || int64(part.st)%int64(y.st) != 0 || !y.has(part.lo):
				return false
			}
			if y.hi >= cur.hi {
				break
			}
			next, ok := cur.clip(y.hi+1, cur.hi)
			if !ok {
				break
			}
			cur = next
			j++
		}
	}
	return true
}

// intersectsSteps reports whether a and b share an index.
func intersectsSteps(a, b []span) bool {
	found := false
	i, j := 0, 0
	for i < len(a) && j < len(b) && !found {
		x, y := a[i], b[j]
		switch {
		case endsBefore(x, y):
			i++
			continue
		case endsBefore(y, x):
			j++
			continue
		}
		meet(x, y, func(span) { found = true })
		if x.hi < y.hi {
			i++
		} else {
			j++
		}
	}
	return found
}

// foldRuns calls fn with each range ClusterShell prints without autostep:
// maximal runs of consecutive indexes of the same padding (pad is the
// width to print, 0 for none).
func foldRuns(sp []span, fn func(lo, hi int64, pad int)) {
	have, rpad := false, false
	var rlo, rhi int64
	var rw int32
	piece := func(w int32, lo, hi int64) {
		if have && lo == rhi+1 && ((rpad && w == rw) || (!rpad && !padded(w, lo))) {
			rhi = hi
			return
		}
		if have {
			pad := 0
			if rpad {
				pad = int(rw)
			}
			fn(rlo, rhi, pad)
		}
		have, rlo, rhi, rw, rpad = true, lo, hi, w, padded(w, lo)
	}
	for _, s := range sp {
		if s.st == 0 {
			piece(s.w, s.lo, s.hi)
			continue
		}
		for v := s.lo; ; v += int64(s.st) {
			piece(s.w, v, v)
			if v == s.hi {
				break
			}
		}
	}
	if have {
		pad := 0
		if rpad {
			pad = int(rw)
		}
		fn(rlo, rhi, pad)
	}
}

// runFolder appends the ranges ClusterShell prints without autostep,
// fed with pieces of consecutive indexes (see foldRuns).
type runFolder struct {
	dst        []byte
	n          int // ranges appended so far
	have, rpad bool
	rlo, rhi   int64
	rw         int32
}

func (f *runFolder) emit() {
	if f.n > 0 {
		f.dst = append(f.dst, ',')
	}
	f.n++
	pad := 0
	if f.rpad {
		pad = int(f.rw)
	}
	f.dst = appendRange(f.dst, f.rlo, f.rhi, 1, pad)
	f.have = false
}

func (f *runFolder) piece(w int32, lo, hi int64) {
	if f.have && lo == f.rhi+1 && ((f.rpad && w == f.rw) || (!f.rpad && !padded(w, lo))) {
		f.rhi = hi
		return
	}
	if f.have {
		f.emit()
	}
	f.have, f.rlo, f.rhi, f.rw, f.rpad = true, lo, hi, w, padded(w, lo)
}

// appendFoldSteps is appendFold without autostep for lists with stepped
// spans: the inner indexes of a progression are never next to another
// index, so each is printed alone, the fast way.
func appendFoldSteps(dst []byte, sp []span) []byte {
	size := 0
	for _, s := range sp {
		if s.st != 0 {
			size += int(s.count()) * (textLen(s.w, s.hi) + 1)
		}
	}
	f := runFolder{dst: slices.Grow(dst, size)}
	for _, s := range sp {
		if s.st == 0 {
			f.piece(s.w, s.lo, s.hi)
			continue
		}
		st := int64(s.st)
		f.piece(s.w, s.lo, s.lo)
		if s.hi-s.lo > st {
			f.emit()
			d := f.dst
			if s.w > 0 && s.w <= 32 {
				// every index has exactly w digits: add st to the text
				var tb [32]byte
				t := appendElem(tb[:0], s.w, s.lo)
				for v := s.lo + st; v < s.hi; v += st {
					addDecimal(t, st)
					d = append(d, ',')
					d = append(d, t...)
				}
			} else {
				for v := s.lo + st; v < s.hi; v += st {
					d = append(d, ',')
					d = appendElem(d, s.w, v)
				}
			}
			f.dst = d
		}
		f.piece(s.w, s.hi, s.hi)
	}
	if f.have {
		f.emit()
	}
	return f.dst
}

// addDecimal adds n >= 0 to the decimal digits t in place (the sum must
// fit in len(t) digits).
func addDecimal(t []byte, n int64) {
	for i := len(t) - 1; n > 0 && i >= 0; i-- {
		x := int64(t[i]-'0') + n%10
		n /= 10
		if x >= 10 {
			x -= 10
			n++
		}
		t[i] = byte('0' + x)
	}
}
