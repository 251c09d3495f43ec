package nodesetcmd

import (
	"iter"

	"github.com/muster-sh/muster/nodeset"
)

// xset is the set the command works on: a NodeSet, or a RangeSet with -R,
// as ClusterShell's nodeset switches between its two classes. Values are
// immutable; operations return new sets. The autostep threshold travels
// with the set as in ClusterShell (0: disabled).
type xset interface {
	Len() int
	IsEmpty() bool
	Union(xset) xset
	Intersection(xset) xset
	Difference(xset) xset
	SymmetricDifference(xset) xset
	All() iter.Seq[string]
	// Each calls fn with every element in order, in a reused buffer,
	// until fn returns false.
	Each(fn func(name []byte) bool)
	Slice(start, stop, step int) xset
	Split(n int) []xset
	Contiguous() []xset
	Autostep() int
	WithAutostep(n int) xset
	// Fold returns the folded text, along the given axes when axes is not
	// nil (node sets only).
	Fold(axes []int) string
}

type nsSet struct{ s nodeset.NodeSet }

func (a nsSet) Len() int                         { return a.s.Len() }
func (a nsSet) IsEmpty() bool                    { return a.s.IsEmpty() }
func (a nsSet) Union(b xset) xset                { return nsSet{a.s.Union(b.(nsSet).s)} }
func (a nsSet) Intersection(b xset) xset         { return nsSet{a.s.Intersection(b.(nsSet).s)} }
func (a nsSet) Difference(b xset) xset           { return nsSet{a.s.Difference(b.(nsSet).s)} }
func (a nsSet) SymmetricDifference(b xset) xset  { return nsSet{a.s.SymmetricDifference(b.(nsSet).s)} }
func (a nsSet) All() iter.Seq[string]            { return a.s.All() }
func (a nsSet) Each(fn func([]byte) bool)        { a.s.AppendAll(fn) }
func (a nsSet) Slice(start, stop, step int) xset { return nsSet{a.s.Slice(start, stop, step)} }
func (a nsSet) Autostep() int                    { return a.s.Autostep() }
func (a nsSet) WithAutostep(n int) xset          { return nsSet{a.s.WithAutostep(n)} }

func (a nsSet) Split(n int) []xset {
	var out []xset
	for _, p := range a.s.Split(n) {
		out = append(out, nsSet{p})
	}
	return out
}

func (a nsSet) Contiguous() []xset {
	var out []xset
	for _, p := range a.s.Contiguous() {
		out = append(out, nsSet{p})
	}
	return out
}

func (a nsSet) Fold(axes []int) string {
	if axes != nil {
		return a.s.FoldAxis(axes)
	}
	return a.s.String()
}

type rsSet struct {
	r        nodeset.RangeSet
	autostep int
}

func (a rsSet) Len() int      { return a.r.Len() }
func (a rsSet) IsEmpty() bool { return a.r.IsEmpty() }
func (a rsSet) Union(b xset) xset {
	return rsSet{a.r.Union(b.(rsSet).r), a.autostep}
}
func (a rsSet) Intersection(b xset) xset {
	return rsSet{a.r.Intersection(b.(rsSet).r), a.autostep}
}
func (a rsSet) Difference(b xset) xset {
	return rsSet{a.r.Difference(b.(rsSet).r), a.autostep}
}
func (a rsSet) SymmetricDifference(b xset) xset {
	return rsSet{a.r.SymmetricDifference(b.(rsSet).r), a.autostep}
}
func (a rsSet) All() iter.Seq[string] { return a.r.All() }
func (a rsSet) Each(fn func([]byte) bool) {
	var buf []byte
	for e := range a.r.All() {
		buf = append(buf[:0], e...)
		if !fn(buf) {
			return
		}
	}
}
func (a rsSet) Slice(start, stop, step int) xset {
	return rsSet{a.r.Slice(start, stop, step), a.autostep}
}
func (a rsSet) Autostep() int           { return a.autostep }
func (a rsSet) WithAutostep(n int) xset { return rsSet{a.r, max(n, 0)} }
func (a rsSet) Fold([]int) string       { return a.r.Fold(a.autostep) }

func (a rsSet) Split(n int) []xset {
	var out []xset
	for _, p := range a.r.Split(n) {
		out = append(out, rsSet{p, a.autostep})
	}
	return out
}

// Contiguous follows ClusterShell: runs at equal distance count as
// contiguous when autostep allows it, and the parts print without
// autostep.
func (a rsSet) Contiguous() []xset {
	var out []xset
	for _, p := range a.r.ContiguousAutostep(a.autostep) {
		out = append(out, rsSet{p, 0})
	}
	return out
}
