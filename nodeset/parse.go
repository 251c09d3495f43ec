package nodeset

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// Option configures Parse and ParseRangeSet.
type Option func(*config)

type config struct {
	resolver    Resolver
	resolverSet bool
	source      string
	autostep    int
}

// WithResolver resolves "@group" references with r instead of the
// DefaultResolver. A nil r disables groups.
func WithResolver(r Resolver) Option {
	return func(c *config) { c.resolver, c.resolverSet = r, true }
}

// WithDefaultSource resolves groups without an explicit "@source:" in the
// named group source instead of the resolver's default one.
func WithDefaultSource(source string) Option {
	return func(c *config) { c.source = source }
}

// WithAutostep sets the autostep threshold of the parsed set (see
// NodeSet.WithAutostep: 0 disables, negative values act as 1).
func WithAutostep(n int) Option {
	return func(c *config) { c.autostep = normAutostep(n) }
}

type resolverBox struct{ r Resolver }

var defaultResolver atomic.Pointer[resolverBox]

// SetDefaultResolver sets the Resolver used by Parse when no WithResolver
// option is given. nil means no groups. It is safe for concurrent use.
func SetDefaultResolver(r Resolver) { defaultResolver.Store(&resolverBox{r}) }

// DefaultResolver returns the Resolver set by SetDefaultResolver, or nil.
func DefaultResolver() Resolver {
	if b := defaultResolver.Load(); b != nil {
		return b.r
	}
	return nil
}

// maxGroupDepth bounds group recursion (a group containing itself).
const maxGroupDepth = 64

type parser struct {
	input      string
	cfg        config
	depth      int
	noWildcard bool                // while expanding "all nodes" for a wildcard
	all        map[string][]string // "@*" cache per source, for wildcards
}

// Parse parses a ClusterShell node set string: names with bracketed ranges
// ("node[1-10,20]", "da[1-2]c[1-4]"), zero padding ("n[001-100]"), steps
// ("n[1-100/2]"), operators evaluated left to right without precedence
// ("," union, "!" difference, "&" intersection, "^" symmetric difference),
// and groups ("@group", "@source:group", "@*", "@source:*", "@@source")
// resolved through the Resolver. Errors are *ParseError values.
func Parse(s string, opts ...Option) (NodeSet, error) {
	p := parser{input: s}
	for _, o := range opts {
		o(&p.cfg)
	}
	if !p.cfg.resolverSet {
		p.cfg.resolver = DefaultResolver()
	}
	ns, err := p.parseString(s, 0, p.cfg.source)
	if err != nil {
		return NodeSet{}, err
	}
	ns.autostep = p.cfg.autostep
	return ns, nil
}

// MustParse is Parse that panics on error, for constants in tests and
// examples.
func MustParse(s string) NodeSet {
	ns, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return ns
}

func (p *parser) fail(pos int, text, msg string) error {
	return &ParseError{Input: p.input, Pos: pos, Text: text, Msg: msg}
}

// findOp returns the index of the first operator character in s.
func findOp(s string) (int, byte) {
	i := strings.IndexAny(s, ",!&^")
	if i < 0 {
		return -1, 0
	}
	return i, s[i]
}

// bracketBefore returns the index of the first '[' of s before opIdx (or
// anywhere when opIdx < 0), or -1.
func bracketBefore(s string, opIdx int) int {
	if opIdx >= 0 {
		s = s[:opIdx]
	}
	return strings.IndexByte(s, '[')
}

// element is one operand: a pattern key and its range sets per dimension.
type element struct {
	raw  string // a bracket-free operand not yet split (key and rs unset)
	key  string
	rs   []RangeSet
	pos  int
	text string
}

// parseString parses s (found at byte base of the input; base is -1 for
// strings that come from a group source) within group namespace ns.
func (p *parser) parseString(s string, base int, ns string) (NodeSet, error) {
	var result NodeSet
	// consecutive unions are gathered and merged at once: a list of 100k
	// names costs one sort, not 100k copies
	var acc unionAcc
	flush := func() {
		if !acc.empty() {
			acc.add(result)
			result = acc.result()
		}
	}
	st, off := trimOff(s, 0)
	err := p.scan(st, off, func(op byte, el element) error {
		if el.raw != "" {
			if op == ',' && el.raw[0] != '@' && (p.cfg.resolver == nil || p.noWildcard || !strings.ContainsAny(el.raw, "*?")) {
				// a plain node name: fold it directly
				b := acc.builder()
				if !b.sc.scan(el.raw) {
					_, _, err := p.scanSingle(el.raw, el.pos)
					return err
				}
				b.addScanned()
				return nil
			}
			k, sets, err := p.scanSingle(el.raw, el.pos)
			if err != nil {
				return err
			}
			el.key, el.rs, el.raw = k, sets, ""
		}
		operand, err := p.operand(el, ns)
		if err != nil {
			return err
		}
		if op == ',' {
			acc.add(operand)
			return nil
		}
		flush()
		switch op {
		case '!':
			result = result.Difference(operand)
		case '&':
			result = result.Intersection(operand)
		case '^':
			result = result.SymmetricDifference(operand)
		}
		return nil
	})
	flush()
	if err != nil {
		var pe *ParseError
		if base != 0 && errors.As(err, &pe) && pe.Input == p.input {
			// error inside a group definition: keep the text, report the
			// position of the group reference in the input
		}
		return NodeSet{}, err
	}
	return result, nil
}

// scan walks the operands of s as ClusterShell's _scan_string does.
func (p *parser) scan(s string, off int, fn func(op byte, el element) error) error {
	nextOp := byte(',')
	for s != "" {
		// lstrip
		i := 0
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		s, off = s[i:], off+i
		if s == "" {
			break
		}
		op := nextOp
		opIdx, nop := findOp(s)
		nextOp = nop
		// only a '[' before the next operator matters (and searching the
		// whole rest of a long list for each operand would be quadratic)
		bracketIdx := bracketBefore(s, opIdx)
		var el element
		el.pos = off
		if bracketIdx >= 0 && (opIdx > bracketIdx || opIdx < 0) {
			var key strings.Builder
			sfx, soff := s, off
			for bracketIdx >= 0 && (opIdx > bracketIdx || opIdx < 0) {
				bi := strings.IndexByte(sfx, '[')
				pfx := sfx[:bi]
				pfxOff := soff
				rest := sfx[bi+1:]
				ci := strings.IndexByte(rest, ']')
				if ci < 0 {
					return p.fail(soff+bi, s, "missing bracket (expected ']')")
				}
				rng := rest[:ci]
				rngOff := soff + bi + 1
				sfx = rest[ci+1:]
				soff = rngOff + ci + 1
				if j := strings.IndexByte(pfx, ']'); j >= 0 {
					return p.fail(pfxOff+j, pfx, "illegal closing bracket")
				}
				if sfx != "" {
					be := strings.IndexByte(sfx, ']')
					bs := strings.IndexByte(sfx, '[')
					if bs == -1 {
						bs = be + 1
					}
					if be >= 0 && be < bs {
						return p.fail(soff+be, sfx, "illegal closing bracket")
					}
				}
				var err error
				if sfx != "" {
					var n int
					sfx, rng, n, err = amendTrailing(sfx, rng)
					if err != nil {
						return p.fail(soff, sfx, err.Error())
					}
					soff += n
				}
				var rs RangeSet
				if pfx != "" {
					pfx, rng, err = amendLeading(p, pfx, rng, rngOff)
					if err != nil {
						return err
					}
					if pfx != "" {
						k, sets, err := p.scanSingle(pfx, pfxOff)
						if err != nil {
							return err
						}
						key.WriteString(k)
						el.rs = append(el.rs, sets...)
					}
				}
				rp := rangeParser{input: p.input, base: rngOff}
				sp, err := rp.parse(nil, rng)
				if err != nil {
					return err
				}
				rs = RangeSet{normalize(sp)}
				opIdx, nextOp = findOp(sfx)
				bracketIdx = bracketBefore(sfx, opIdx)
				if sfx != "" && sfx[0] == '[' {
					return p.fail(soff, sfx, "illegal reopening bracket")
				}
				key.WriteString("%s")
				el.rs = append(el.rs, rs)
			}
			opIdx, nextOp = findOp(sfx)
			if opIdx < 0 {
				s = ""
			} else {
				rest := sfx[opIdx+1:]
				sfx = sfx[:opIdx]
				s, off = rest, soff+opIdx+1
				if rest == "" {
					return p.fail(soff+opIdx, string(nextOp), fmt.Sprintf("missing nodeset operand with '%c' operator", nextOp))
				}
			}
			sfx = strings.TrimRightFunc(sfx, func(r rune) bool { return r < 128 && isSpace(byte(r)) })
			if sfx != "" {
				k, sets, err := p.scanSingle(sfx, soff)
				if err != nil {
					return err
				}
				key.WriteString(k)
				el.rs = append(el.rs, sets...)
			}
			el.key = key.String()
			el.text = strings.TrimSpace(s)
		} else {
			var node string
			if opIdx < 0 {
				node = s
				s = ""
			} else {
				node = s[:opIdx]
				rest := s[opIdx+1:]
				if node == "" || rest == "" {
					return p.fail(off+opIdx, string(nextOp), fmt.Sprintf("missing nodeset operand with '%c' operator", nextOp))
				}
				s = rest
			}
			if j := strings.IndexByte(node, ']'); j >= 0 {
				return p.fail(off+j, node, "illegal closing bracket")
			}
			nodeOff := off
			if opIdx >= 0 {
				off += opIdx + 1
			}
			node = strings.TrimRightFunc(node, func(r rune) bool { return r < 128 && isSpace(byte(r)) })
			el.raw, el.pos, el.text = node, nodeOff, node
		}
		if err := fn(op, el); err != nil {
			return err
		}
	}
	return nil
}

// scanSingle splits a bracket-free name into a pattern key and one
// single-index range set per run of digits (ClusterShell's
// _scan_string_single).
func (p *parser) scanSingle(s string, off int) (string, []RangeSet, error) {
	if s == "" {
		return "", nil, p.fail(off, s, "parse error (expected a node name)")
	}
	var key strings.Builder
	var sets []RangeSet
	i := 0
	for i < len(s) {
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') {
			j++
		}
		writeEscaped(&key, s[i:j])
		if j == len(s) {
			break
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		w, v, ok := parseIndexText(s[j:k])
		if !ok {
			return "", nil, p.fail(off+j, s[j:k], "invalid rangeset index (too large)")
		}
		key.WriteString("%s")
		sets = append(sets, RangeSet{[]span{{w: w, lo: v, hi: v}}})
		i = k
	}
	return key.String(), sets, nil
}

func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			b.WriteString("%%")
		} else {
			b.WriteByte(s[i])
		}
	}
}

// amendTrailing moves the digits that follow a closing bracket into the
// range ("[1-2]0" is "[10-20/10]"), as ClusterShell 1.7+ does. It returns
// the new suffix, range and the number of digits consumed.
func amendTrailing(sfx, rng string) (string, string, int, error) {
	n := 0
	for n < len(sfx) && sfx[n] >= '0' && sfx[n] <= '9' {
		n++
	}
	if n == 0 {
		return sfx, rng, 0, nil
	}
	if strings.IndexByte(rng, '/') >= 0 {
		return sfx, rng, 0, errors.New("illegal trailing digits after range with steps")
	}
	digits := sfx[:n]
	elems := strings.Split(rng, ",")
	for i, e := range elems {
		bounds := strings.Split(e, "-")
		for j := range bounds {
			bounds[j] += digits
		}
		e = strings.Join(bounds, "-")
		if strings.IndexByte(e, '-') >= 0 {
			e += "/1" + strings.Repeat("0", n)
		}
		elems[i] = e
	}
	return sfx[n:], strings.Join(elems, ","), n, nil
}

// amendLeading moves the digits that precede an opening bracket into the
// range ("n1[0-12]" is "n[10-112]"), as ClusterShell does.
func amendLeading(p *parser, pfx, rng string, rngOff int) (string, string, error) {
	n := len(pfx)
	for n > 0 && pfx[n-1] >= '0' && pfx[n-1] <= '9' {
		n--
	}
	if n == len(pfx) {
		return pfx, rng, nil
	}
	digits := pfx[n:]
	rp := rangeParser{input: p.input, base: rngOff}
	sp, err := rp.parse(nil, rng)
	if err != nil {
		return "", "", err
	}
	var elems []string
	for _, c := range (RangeSet{normalize(sp)}).Contiguous() {
		bounds := strings.Split(c.String(), "-")
		for j := range bounds {
			bounds[j] = digits + bounds[j]
		}
		elems = append(elems, strings.Join(bounds, "-"))
	}
	return pfx[:n], strings.Join(elems, ","), nil
}

// single builds the one-pattern NodeSet of an element.
func single(el element) NodeSet {
	pt := pat{key: el.key, parts: keyParts(el.key)}
	switch len(el.rs) {
	case 0:
	case 1:
		pt.rs = el.rs[0]
	default:
		pt.nd = []vec{vec(el.rs)}
	}
	return NodeSet{pats: []pat{pt}}
}

// operand resolves groups and wildcards of one element.
func (p *parser) operand(el element, ns string) (NodeSet, error) {
	r := p.cfg.resolver
	if strings.HasPrefix(el.key, "@") {
		if r == nil {
			return NodeSet{}, &ParseError{Input: p.input, Pos: el.pos, Text: el.text,
				Msg: "group reference (expected a group resolver)", Err: ErrNoResolver}
		}
		var out NodeSet
		var ferr error
		single(el).AppendAll(func(b []byte) bool {
			grp, err := p.group(string(b), ns, el)
			if err != nil {
				ferr = err
				return false
			}
			out = out.Union(grp)
			return true
		})
		return out, ferr
	}
	if r != nil && !p.noWildcard && strings.ContainsAny(el.key, "*?") {
		return p.wildcard(el, ns)
	}
	return single(el), nil
}

func (p *parser) groupErr(el element, msg string, err error) error {
	return &ParseError{Input: p.input, Pos: el.pos, Text: el.text, Msg: msg, Err: err}
}

// group resolves one "@..." name (already expanded from its ranges).
func (p *parser) group(name string, ns string, el element) (NodeSet, error) {
	if p.depth >= maxGroupDepth {
		return NodeSet{}, p.groupErr(el, "group recursion too deep (expected groups that do not contain themselves)", nil)
	}
	r := p.cfg.resolver
	grpstr := name[1:]
	group := grpstr
	if i := strings.IndexByte(grpstr, ':'); i >= 0 {
		ns, group = grpstr[:i], grpstr[i+1:]
	}
	var list []string
	var err error
	switch {
	case group == "*":
		list, err = r.All(ns)
	case strings.HasPrefix(group, "@"):
		list, err = p.groupNames(grpstr[1:])
	default:
		list, err = r.Group(ns, group)
	}
	if err != nil {
		return NodeSet{}, p.groupErr(el, fmt.Sprintf("cannot resolve group %q", name), err)
	}
	if len(list) == 0 {
		return NodeSet{}, nil
	}
	p.depth++
	defer func() { p.depth-- }()
	sub := parser{input: strings.Join(list, ","), cfg: p.cfg, depth: p.depth, all: p.all, noWildcard: p.noWildcard}
	res, err := sub.parseString(sub.input, -1, ns)
	if err != nil {
		return NodeSet{}, p.groupErr(el, fmt.Sprintf("bad definition of group %q", name), err)
	}
	return res, nil
}

// groupNames returns the group names of source as node names ("@@source").
func (p *parser) groupNames(source string) ([]string, error) {
	names, err := p.cfg.resolver.List(source)
	if err != nil {
		return nil, err
	}
	var set NodeSet
	for _, g := range names {
		sub := parser{input: g, cfg: config{}}
		ns, err := sub.parseString(g, -1, "")
		if err != nil {
			return nil, err
		}
		set = set.Union(ns)
	}
	var out []string
	for n := range set.All() {
		out = append(out, n)
	}
	return out, nil
}

// wildcard matches the element's masks against all nodes of the source.
func (p *parser) wildcard(el element, ns string) (NodeSet, error) {
	alln, err := p.allNodes(ns)
	if err != nil {
		return NodeSet{}, p.groupErr(el, "cannot list all nodes for wildcard", err)
	}
	var b Builder
	used := make([]bool, len(alln))
	single(el).AppendAll(func(mask []byte) bool {
		for i, n := range alln {
			if !used[i] && globMatch(string(mask), n) {
				used[i] = true
				b.Add(n)
			}
		}
		return true
	})
	return b.NodeSet(), nil
}

func (p *parser) allNodes(ns string) ([]string, error) {
	if names, ok := p.all[ns]; ok {
		return names, nil
	}
	list, err := p.cfg.resolver.All(ns)
	if err != nil {
		return nil, err
	}
	var set NodeSet
	for _, s := range list {
		// groups are resolved, wildcards are not (as ClusterShell)
		sub := parser{input: s, cfg: p.cfg, noWildcard: true, depth: p.depth + 1}
		part, err := sub.parseString(s, -1, ns)
		if err != nil {
			return nil, err
		}
		set = set.Union(part)
	}
	var names []string
	for n := range set.All() {
		names = append(names, n)
	}
	if p.all == nil {
		p.all = map[string][]string{}
	}
	p.all[ns] = names
	return names, nil
}

// globMatch matches name against a mask with '*' and '?' (fnmatch).
func globMatch(mask, name string) bool {
	mi, ni := 0, 0
	star, mark := -1, 0
	for ni < len(name) {
		switch {
		case mi < len(mask) && (mask[mi] == '?' || mask[mi] == name[ni]) && mask[mi] != '*':
			mi++
			ni++
		case mi < len(mask) && mask[mi] == '*':
			star, mark = mi, ni
			mi++
		case star >= 0:
			mi = star + 1
			mark++
			ni = mark
		default:
			return false
		}
	}
	for mi < len(mask) && mask[mi] == '*' {
		mi++
	}
	return mi == len(mask)
}
