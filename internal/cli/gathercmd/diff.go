package gathercmd

import (
	"slices"
	"strconv"
)

// This file computes unified diffs line for line as Python's difflib does
// (longest matching blocks, with its "popular element" heuristic for
// sequences of 200 lines or more), since clubak --diff prints difflib's text.

type opcode struct {
	tag            byte // 'e'qual, 'r'eplace, 'd'elete, 'i'nsert
	i1, i2, j1, j2 int
}

type match struct{ i, j, k int }

type matcher struct {
	a, b []string
	b2j  map[string][]int
}

func newMatcher(a, b []string) *matcher {
	m := &matcher{a: a, b: b, b2j: make(map[string][]int)}
	for j, l := range b {
		m.b2j[l] = append(m.b2j[l], j)
	}
	if n := len(b); n >= 200 {
		ntest := n/100 + 1
		for l, js := range m.b2j {
			if len(js) > ntest {
				delete(m.b2j, l)
			}
		}
	}
	return m
}

func (m *matcher) longest(alo, ahi, blo, bhi int) match {
	bi, bj, bk := alo, blo, 0
	j2len := map[int]int{}
	for i := alo; i < ahi; i++ {
		next := map[int]int{}
		for _, j := range m.b2j[m.a[i]] {
			if j < blo {
				continue
			}
			if j >= bhi {
				break
			}
			k := j2len[j-1] + 1
			next[j] = k
			if k > bk {
				bi, bj, bk = i-k+1, j-k+1, k
			}
		}
		j2len = next
	}
	for bi > alo && bj > blo && m.a[bi-1] == m.b[bj-1] {
		bi, bj, bk = bi-1, bj-1, bk+1
	}
	for bi+bk < ahi && bj+bk < bhi && m.a[bi+bk] == m.b[bj+bk] {
		bk++
	}
	return match{bi, bj, bk}
}

func (m *matcher) blocks() []match {
	type span struct{ alo, ahi, blo, bhi int }
	queue := []span{{0, len(m.a), 0, len(m.b)}}
	var got []match
	for len(queue) > 0 {
		s := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		x := m.longest(s.alo, s.ahi, s.blo, s.bhi)
		if x.k == 0 {
			continue
		}
		got = append(got, x)
		if s.alo < x.i && s.blo < x.j {
			queue = append(queue, span{s.alo, x.i, s.blo, x.j})
		}
		if x.i+x.k < s.ahi && x.j+x.k < s.bhi {
			queue = append(queue, span{x.i + x.k, s.ahi, x.j + x.k, s.bhi})
		}
	}
	slices.SortFunc(got, func(p, q match) int {
		if p.i != q.i {
			return p.i - q.i
		}
		if p.j != q.j {
			return p.j - q.j
		}
		return p.k - q.k
	})
	var out []match
	c := match{}
	for _, x := range got {
		if c.i+c.k == x.i && c.j+c.k == x.j {
			c.k += x.k
			continue
		}
		if c.k > 0 {
			out = append(out, c)
		}
		c = x
	}
	if c.k > 0 {
		out = append(out, c)
	}
	return append(out, match{len(m.a), len(m.b), 0})
}

func (m *matcher) opcodes() []opcode {
	var out []opcode
	i, j := 0, 0
	for _, x := range m.blocks() {
		var tag byte
		switch {
		case i < x.i && j < x.j:
			tag = 'r'
		case i < x.i:
			tag = 'd'
		case j < x.j:
			tag = 'i'
		}
		if tag != 0 {
			out = append(out, opcode{tag, i, x.i, j, x.j})
		}
		i, j = x.i+x.k, x.j+x.k
		if x.k > 0 {
			out = append(out, opcode{'e', x.i, i, x.j, j})
		}
	}
	return out
}

func grouped(codes []opcode, n int) [][]opcode {
	if len(codes) == 0 {
		codes = []opcode{{'e', 0, 1, 0, 1}}
	}
	if c := &codes[0]; c.tag == 'e' {
		c.i1, c.j1 = max(c.i1, c.i2-n), max(c.j1, c.j2-n)
	}
	if c := &codes[len(codes)-1]; c.tag == 'e' {
		c.i2, c.j2 = min(c.i2, c.i1+n), min(c.j2, c.j1+n)
	}
	var out [][]opcode
	var g []opcode
	for _, c := range codes {
		if c.tag == 'e' && c.i2-c.i1 > 2*n {
			g = append(g, opcode{'e', c.i1, min(c.i2, c.i1+n), c.j1, min(c.j2, c.j1+n)})
			out = append(out, g)
			g = nil
			c.i1, c.j1 = max(c.i1, c.i2-n), max(c.j1, c.j2-n)
		}
		g = append(g, c)
	}
	if len(g) > 0 && !(len(g) == 1 && g[0].tag == 'e') {
		out = append(out, g)
	}
	return out
}

func unifiedRange(start, stop int) string {
	begin, length := start+1, stop-start
	if length == 1 {
		return strconv.Itoa(begin)
	}
	if length == 0 {
		begin--
	}
	return strconv.Itoa(begin) + "," + strconv.Itoa(length)
}

// unifiedDiff returns the lines of difflib.unified_diff(a, b, from, to,
// lineterm="") with 3 lines of context.
func unifiedDiff(a, b []string, from, to string) []string {
	var out []string
	for gi, g := range grouped(newMatcher(a, b).opcodes(), 3) {
		if gi == 0 {
			out = append(out, "--- "+from, "+++ "+to)
		}
		first, last := g[0], g[len(g)-1]
		out = append(out, "@@ -"+unifiedRange(first.i1, last.i2)+" +"+unifiedRange(first.j1, last.j2)+" @@")
		for _, c := range g {
			if c.tag == 'e' {
				for _, l := range a[c.i1:c.i2] {
					out = append(out, " "+l)
				}
				continue
			}
			if c.tag == 'r' || c.tag == 'd' {
				for _, l := range a[c.i1:c.i2] {
					out = append(out, "-"+l)
				}
			}
			if c.tag == 'r' || c.tag == 'i' {
				for _, l := range b[c.j1:c.j2] {
					out = append(out, "+"+l)
				}
			}
		}
	}
	return out
}
