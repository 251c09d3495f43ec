package gather

import (
	"slices"
	"strconv"
)

// UnifiedDiff returns the lines of a unified diff of a and b with n lines
// of context, computed like Python's difflib (the longest-matching-block
// algorithm with its "popular line" heuristic), so that the --diff output
// of muster run and muster gather is exactly clush's and clubak's. It
// returns nil when a and b are equal.
func UnifiedDiff(a, b []string, fromFile, toFile string, n int) []string {
	var out []string
	for i, group := range groupedOpcodes(a, b, n) {
		if i == 0 {
			out = append(out, "--- "+fromFile, "+++ "+toFile)
		}
		first, last := group[0], group[len(group)-1]
		out = append(out, "@@ -"+unifiedRange(first.i1, last.i2)+" +"+unifiedRange(first.j1, last.j2)+" @@")
		for _, op := range group {
			if op.tag == 'e' {
				for _, l := range a[op.i1:op.i2] {
					out = append(out, " "+l)
				}
				continue
			}
			if op.tag == 'r' || op.tag == 'd' {
				for _, l := range a[op.i1:op.i2] {
					out = append(out, "-"+l)
				}
			}
			if op.tag == 'r' || op.tag == 'i' {
				for _, l := range b[op.j1:op.j2] {
					out = append(out, "+"+l)
				}
			}
		}
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
	m := &matcher{a: a, b: b, b2j: map[string][]int{}}
	for j, l := range b {
		m.b2j[l] = append(m.b2j[l], j)
	}
	// autojunk: lines more frequent than 1% of b (when b has 200 lines or
	// more) are not used to anchor matches.
	if len(b) >= 200 {
		ntest := len(b)/100 + 1
		for l, idx := range m.b2j {
			if len(idx) > ntest {
				delete(m.b2j, l)
			}
		}
	}
	return m
}

func (m *matcher) longest(alo, ahi, blo, bhi int) match {
	besti, bestj, best := alo, blo, 0
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
			if k > best {
				besti, bestj, best = i-k+1, j-k+1, k
			}
		}
		j2len = next
	}
	for besti > alo && bestj > blo && m.a[besti-1] == m.b[bestj-1] {
		besti, bestj, best = besti-1, bestj-1, best+1
	}
	for besti+best < ahi && bestj+best < bhi && m.a[besti+best] == m.b[bestj+best] {
		best++
	}
	return match{besti, bestj, best}
}

func (m *matcher) matchingBlocks() []match {
	type span struct{ alo, ahi, blo, bhi int }
	queue := []span{{0, len(m.a), 0, len(m.b)}}
	var blocks []match
	for len(queue) > 0 {
		s := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		x := m.longest(s.alo, s.ahi, s.blo, s.bhi)
		if x.k > 0 {
			blocks = append(blocks, x)
			if s.alo < x.i && s.blo < x.j {
				queue = append(queue, span{s.alo, x.i, s.blo, x.j})
			}
			if x.i+x.k < s.ahi && x.j+x.k < s.bhi {
				queue = append(queue, span{x.i + x.k, s.ahi, x.j + x.k, s.bhi})
			}
		}
	}
	slices.SortFunc(blocks, func(p, q match) int {
		if p.i != q.i {
			return p.i - q.i
		}
		if p.j != q.j {
			return p.j - q.j
		}
		return p.k - q.k
	})
	var out []match
	cur := match{}
	for _, x := range blocks {
		if cur.i+cur.k == x.i && cur.j+cur.k == x.j {
			cur.k += x.k
			continue
		}
		if cur.k > 0 {
			out = append(out, cur)
		}
		cur = x
	}
	if cur.k > 0 {
		out = append(out, cur)
	}
	return append(out, match{len(m.a), len(m.b), 0})
}

func opcodes(a, b []string) []opcode {
	var out []opcode
	i, j := 0, 0
	for _, x := range newMatcher(a, b).matchingBlocks() {
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

func groupedOpcodes(a, b []string, n int) [][]opcode {
	codes := opcodes(a, b)
	if len(codes) == 0 {
		codes = []opcode{{'e', 0, 1, 0, 1}}
	}
	if c := &codes[0]; c.tag == 'e' {
		c.i1, c.j1 = max(c.i1, c.i2-n), max(c.j1, c.j2-n)
	}
	if c := &codes[len(codes)-1]; c.tag == 'e' {
		c.i2, c.j2 = min(c.i2, c.i1+n), min(c.j2, c.j1+n)
	}
	var groups [][]opcode
	var group []opcode
	for _, c := range codes {
		if c.tag == 'e' && c.i2-c.i1 > 2*n {
			group = append(group, opcode{'e', c.i1, min(c.i2, c.i1+n), c.j1, min(c.j2, c.j1+n)})
			groups = append(groups, group)
			group = nil
			c.i1, c.j1 = max(c.i1, c.i2-n), max(c.j1, c.j2-n)
		}
		group = append(group, c)
	}
	if len(group) > 0 && !(len(group) == 1 && group[0].tag == 'e') {
		groups = append(groups, group)
	}
	return groups
}
