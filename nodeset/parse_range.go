package nodeset

import (
	"math"
	"strings"
)

// maxRangeLen is ClusterShell's cap on one a-b range ("range too large").
const maxRangeLen = 1_000_000_000

// rangeParser parses ClusterShell range strings ("1-5,07,10-20/2").
type rangeParser struct {
	input string // whole user input, for errors
	base  int    // offset of the range text in input
}

func (p *rangeParser) fail(off int, text, msg string) error {
	return &ParseError{Input: p.input, Pos: p.base + off, Text: text, Msg: msg}
}

// isSpace mirrors Python's str.strip() for ASCII whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// trimOff trims ASCII whitespace and returns the new start offset.
func trimOff(s string, off int) (string, int) {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j], off + i
}

// digitsValue parses a non-empty string of ASCII digits.
func digitsValue(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if v > (maxIndex-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parse appends the spans of range string s to dst.
func (p *rangeParser) parse(dst []span, s string) ([]span, error) {
	off := 0
	for {
		end := strings.IndexByte(s[off:], ',')
		var sub string
		if end < 0 {
			sub = s[off:]
		} else {
			sub = s[off : off+end]
		}
		var err error
		dst, err = p.parseSub(dst, sub, off)
		if err != nil {
			return dst, err
		}
		if end < 0 {
			return dst, nil
		}
		off += end + 1
	}
}

func (p *rangeParser) parseSub(dst []span, raw string, off int) ([]span, error) {
	sub, soff := trimOff(raw, off)
	base := sub
	step := int64(1)
	if i := strings.IndexByte(sub, '/'); i >= 0 {
		base = sub[:i]
		st, _ := trimOff(sub[i+1:], 0)
		v, ok := digitsValue(st)
		if !ok {
			return dst, p.fail(soff, sub, "cannot convert string to integer (expected a step number after '/')")
		}
		step = v
	}
	var begin, end string
	bneg, eneg := false, false
	parts := strings.Split(base, "-")
	for i := range parts {
		parts[i], _ = trimOff(parts[i], 0)
	}
	switch len(parts) {
	case 1:
		if step != 1 {
			return dst, p.fail(soff, sub, "invalid step usage (expected a range a-b before '/')")
		}
		begin, end = parts[0], parts[0]
	case 2:
		begin, end = parts[0], parts[1]
		if begin == "" {
			begin, bneg, eneg = end, true, true
		}
	case 3:
		// "-a-b"; like ClusterShell, the text before the first '-' is
		// ignored ("47-5-9" is -5..9)
		begin, end, bneg = parts[1], parts[2], true
	case 4:
		// "-a--b" (same leniency as above)
		begin, end, bneg, eneg = parts[1], parts[3], true, true
	default:
		return dst, p.fail(soff, sub, "cannot convert string to integer (expected a-b)")
	}
	bv, ok1 := digitsValue(begin)
	ev, ok2 := digitsValue(end)
	if !ok1 || !ok2 {
		if sub == "" {
			return dst, p.fail(soff, sub, "empty range (expected a number or a-b)")
		}
		return dst, p.fail(soff, sub, "cannot convert string to integer (expected digits)")
	}
	pad := 0
	if len(begin) > 1 && begin[0] == '0' {
		pad = len(begin)
	}
	endpad := len(end) > 1 && end[0] == '0'
	if (pad > 0 || endpad) && len(begin) != len(end) {
		return dst, p.fail(soff, sub, "padding length mismatch (expected bounds of the same width)")
	}
	if pad > 0 && bneg {
		return dst, p.fail(soff, sub, "padding not supported in negative ranges")
	}
	lo, hi := bv, ev
	if bneg {
		lo = -bv
	}
	if eneg {
		hi = -ev
	}
	if lo > hi || step < 1 {
		return dst, p.fail(soff, sub, "invalid values in range (expected a <= b and step >= 1)")
	}
	if hi-lo+1 >= maxRangeLen {
		return dst, p.fail(soff, sub, "range too large (at most 999999999 indexes per range)")
	}
	if step == 1 {
		return appendSpansRange(dst, lo, hi, pad), nil
	}
	// a stepped range is one progression per width (see step.go)
	last := lo + ((hi-lo)/step)*step
	if lo == last {
		return appendSpansRange(dst, lo, lo, pad), nil
	}
	v := lo
	if v < 0 {
		h := min(last, lo+((-1-lo)/step)*step) // last negative index
		dst = append(dst, mkSpan(0, v, h, step))
		if h == last {
			return dst, nil
		}
		v = h + step
	}
	for {
		// all indexes below limit have text width w
		d := ndigits(v)
		w, limit := int32(max(d, pad)), pow10(d)
		if d < pad {
			limit = pow10(pad)
		}
		h := last
		if limit != math.MaxInt64 && h >= limit {
			h = v + ((limit-1-v)/step)*step
		}
		dst = append(dst, mkSpan(w, v, h, step))
		if h == last {
			return dst, nil
		}
		v = h + step
	}
}

// ParseRangeSet parses a ClusterShell range set such as "1-5,07,10-20/2"
// (ClusterShell's RangeSet(str)). Options other than WithAutostep are
// ignored.
func ParseRangeSet(s string, opts ...Option) (RangeSet, error) {
	p := rangeParser{input: s}
	sp, err := p.parse(nil, s)
	if err != nil {
		return RangeSet{}, err
	}
	return RangeSet{normalize(sp)}, nil
}

// MustParseRangeSet is ParseRangeSet that panics on error, for constants
// in tests and examples.
func MustParseRangeSet(s string) RangeSet {
	r, err := ParseRangeSet(s)
	if err != nil {
		panic(err)
	}
	return r
}
