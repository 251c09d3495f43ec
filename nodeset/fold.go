package nodeset

import "math"

// padded reports whether the text of index (w, v) starts with a zero and
// has more than one character (ClusterShell's notion of a padded index).
func padded(w int32, v int64) bool {
	return w > 1 && ndigits(v) < int(w)
}

// textLen is the length of the text of index (w, v).
func textLen(w int32, v int64) int {
	if w == 0 {
		return ndigits(-v) + 1
	}
	return int(w)
}

// run is a maximal chain of consecutive spans that ClusterShell folds as
// one "a-b" range: sp[i:j] of a span list, with the padding to print.
type run struct {
	i, j int
	pad  int
}

// nextRun returns the run starting at span i.
func nextRun(sp []span, i int) run {
	s := sp[i]
	if padded(s.w, s.lo) {
		return run{i, i + 1, int(s.w)}
	}
	j := i + 1
	for j < len(sp) {
		n, prev := sp[j], sp[j-1]
		if n.lo != prev.hi+1 || padded(n.w, n.lo) || n.w == prev.w {
			break
		}
		j++
	}
	return run{i, j, 0}
}

// appendRange appends "lo", "lo-hi" or "lo-hi/step" formatted with pad.
func appendRange(dst []byte, lo, hi, step int64, pad int) []byte {
	dst = appendPadded(dst, lo, pad)
	if lo == hi {
		return dst
	}
	dst = append(dst, '-')
	dst = appendPadded(dst, hi, pad)
	if step > 1 {
		dst = append(dst, '/')
		dst = appendPadded(dst, step, 0)
	}
	return dst
}

// appendFold appends the folded text of sp ("1-3,5") with the given
// autostep threshold (<= 1 or math.MaxInt: disabled, see AppendTo).
func appendFold(dst []byte, sp []span, autostep int) []byte {
	if autostep <= 0 || autostep == math.MaxInt {
		if hasSteps(sp) {
			return appendFoldSteps(dst, sp)
		}
		for i := 0; i < len(sp); {
			r := nextRun(sp, i)
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendRange(dst, sp[r.i].lo, sp[r.j-1].hi, 1, r.pad)
			i = r.j
		}
		return dst
	}
	first := true
	a := int64(autostep) - 1
	foldSlices(sp, a, a, func(lo, hi, step int64, pad int) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendRange(dst, lo, hi, step, pad)
	})
	return dst
}

// disabledStep is the threshold of a disabled autostep (ClusterShell's
// AUTOSTEP_DISABLED): only step-1 runs are ranges.
const disabledStep = math.MaxInt64

// foldSlices feeds every index of sp to ClusterShell's slice folding with
// threshold a (autostep-1) inside the sequence and aEnd for the last
// slice, and calls emit for each resulting slice (hi inclusive).
func foldSlices(sp []span, a, aEnd int64, emit func(lo, hi, step int64, pad int)) {
	f := stepFolder{emitFn: emit, a: a, aEnd: aEnd}
	for _, s := range sp {
		for v := s.lo; ; v += s.step() {
			f.feed(v, textLen(s.w, v), padded(s.w, v))
			if v == s.hi {
				break
			}
		}
	}
	f.finish()
}

// stepFolder folds indexes with "a-b/step" ranges following ClusterShell's
// autostep rules (RangeSet._slices_padding), one index at a time.
type stepFolder struct {
	emitFn   func(lo, hi, step int64, pad int)
	a        int64 // autostep threshold minus one
	aEnd     int64 // same, for the last slice
	have     bool
	start    int64
	last     int64
	pad      int
	isPadded bool
	step     int64
	hasStep  bool
}

func (f *stepFolder) emit(lo, hi, step int64) {
	pad := 0
	if f.isPadded {
		pad = f.pad
	}
	f.emitFn(lo, hi, step, pad)
}

// reached reports last-start >= a*step without overflow.
func (f *stepFolder) reached(a, step int64) bool {
	if a <= 0 {
		return f.last-f.start >= 0
	}
	if a == disabledStep || (step > 0 && a > math.MaxInt64/step) {
		return false
	}
	return f.last-f.start >= a*step
}

func (f *stepFolder) feed(idx int64, dl int, isPadded bool) {
	if !f.have {
		f.have, f.isPadded, f.pad, f.start, f.hasStep, f.last = true, isPadded, dl, idx, false, idx
		return
	}
	padMis := false
	if f.isPadded {
		padMis = dl != f.pad
	} else {
		padMis = isPadded
	}
	stepMis := !padMis && f.hasStep && f.step != idx-f.last
	if padMis || stepMis {
		var stepped bool
		step := int64(1)
		if f.hasStep {
			step = f.step
			stepped = f.step == 1 || f.reached(f.a, f.step)
		} else {
			stepped = true
		}
		if stepped {
			f.emit(f.start, f.last, step)
			f.start, f.isPadded, f.pad = idx, isPadded, dl
		} else {
			stop := f.last - step + 1
			if padMis {
				stop = f.last + 1
			}
			for j := f.start; j < stop; j += step {
				f.emit(j, j, 1)
			}
			if padMis {
				f.start, f.isPadded, f.pad = idx, isPadded, dl
			} else {
				f.start = f.last
			}
		}
		if stepMis {
			f.step, f.hasStep = idx-f.last, true
		} else {
			f.hasStep = false
		}
		f.last = idx
		return
	}
	f.step, f.hasStep = idx-f.last, true
	f.last = idx
}

func (f *stepFolder) finish() {
	if !f.have {
		return
	}
	stepped := true
	if f.hasStep {
		stepped = f.reached(f.aEnd, f.step)
	}
	if stepped || (f.hasStep && f.step == 1) {
		step := int64(1)
		if f.hasStep {
			step = f.step
		}
		f.emit(f.start, f.last, step)
		return
	}
	for j := f.start; j <= f.last; j += f.step {
		f.emit(j, j, 1)
	}
}

// String returns r folded as ClusterShell prints it ("1-3,5,08-10").
func (r RangeSet) String() string {
	return string(appendFold(nil, r.sp, 0))
}

// AppendTo appends the folded text of r to b.
func (r RangeSet) AppendTo(b []byte) []byte { return appendFold(b, r.sp, 0) }

// Fold returns r folded with ClusterShell's autostep threshold: ranges of
// at least autostep indexes at equal distance are written "a-b/step".
// autostep <= 0 disables it (same as String).
func (r RangeSet) Fold(autostep int) string {
	return string(appendFold(nil, r.sp, autostep))
}

// Contiguous returns the contiguous subsets of r ("1-3,5" gives 1-3 and
// 5), as ClusterShell's contiguous().
func (r RangeSet) Contiguous() []RangeSet { return r.contiguous(0) }

// ContiguousAutostep is Contiguous for a set folded with autostep (see
// NodeSet.WithAutostep): as in ClusterShell, the last run may then be a
// stepped one ("1-9/2,20" with autostep 2 gives 1, 3, 5, 7 and 9,20).
func (r RangeSet) ContiguousAutostep(autostep int) []RangeSet {
	return r.contiguous(normAutostep(autostep))
}

// contiguous is ClusterShell's contiguous() for a set whose autostep is
// autostep (0: disabled): the last slice may then be a stepped one.
func (r RangeSet) contiguous(autostep int) []RangeSet {
	var out []RangeSet
	if autostep != 0 {
		foldSlices(r.sp, disabledStep, int64(autostep)-1, func(lo, hi, step int64, pad int) {
			var sp []span
			if step <= 1 {
				sp = appendSpansRange(nil, lo, hi, pad)
			} else {
				for v := lo; v <= hi; v += step {
					sp = appendSpansRange(sp, v, v, pad)
				}
			}
			out = append(out, RangeSet{normalize(sp)})
		})
		return out
	}
	if hasSteps(r.sp) {
		foldRuns(r.sp, func(lo, hi int64, pad int) {
			out = append(out, RangeSet{normalize(appendSpansRange(nil, lo, hi, pad))})
		})
		return out
	}
	for i := 0; i < len(r.sp); {
		ru := nextRun(r.sp, i)
		out = append(out, RangeSet{r.sp[ru.i:ru.j:ru.j]})
		i = ru.j
	}
	return out
}
