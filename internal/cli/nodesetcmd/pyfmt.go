package nodesetcmd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ClusterShell's nodeset applies its -O/--output-format string with
// Python's printf-style "%" operator to one value: a node name, a folded
// node set, or a count. The code below formats that single value the same
// way, including the errors Python raises for a format that does not fit.

// pyErrKind tells which Python exception a formatting problem maps to; the
// tool prints ValueError as "ERROR: msg" and TypeError as "nodeset: msg".
type pyErrKind int

const (
	pyValueError pyErrKind = iota
	pyTypeError
	pyOverflowError
)

// pyError is a formatting failure as Python would report it.
type pyError struct {
	kind pyErrKind
	msg  string
}

func (e *pyError) Error() string { return e.msg }

// pyArg is the single value given to the "%" operator: a string (str), an
// integer (int) or, for a range set, an object whose str() and repr() are
// both its folded text.
type pyArg struct {
	isInt bool
	obj   bool // a RangeSet: repr() is its text, numeric conversions fail
	n     int64
	s     string
}

func (a pyArg) typeName() string {
	if a.obj {
		return "RangeSet"
	}
	return "str"
}

func strArg(s string) pyArg { return pyArg{s: s} }
func intArg(n int64) pyArg  { return pyArg{isInt: true, n: n} }

// pyFormat returns format % arg.
func pyFormat(format string, arg pyArg) (string, error) {
	// Fast path for the default format.
	if format == "%s" {
		if arg.isInt {
			return strconv.FormatInt(arg.n, 10), nil
		}
		return arg.s, nil
	}
	var b strings.Builder
	used := false // the single argument has been consumed
	rs := []rune(format)
	i := 0
	for i < len(rs) {
		c := rs[i]
		if c != '%' {
			b.WriteRune(c)
			i++
			continue
		}
		i++
		if i >= len(rs) {
			return "", &pyError{pyValueError, "incomplete format"}
		}
		if rs[i] == '%' {
			b.WriteRune('%')
			i++
			continue
		}
		if rs[i] == '(' {
			if arg.obj {
				// A RangeSet passes for a mapping but wants integer keys.
				return "", &pyError{pyTypeError, "RangeSet indices must be integers"}
			}
			return "", &pyError{pyTypeError, "format requires a mapping"}
		}
		// flags
		var minus, plus, space, alt, zero bool
	flags:
		for i < len(rs) {
			switch rs[i] {
			case '-':
				minus = true
			case '+':
				plus = true
			case ' ':
				space = true
			case '#':
				alt = true
			case '0':
				zero = true
			default:
				break flags
			}
			i++
		}
		width, prec := -1, -1
		if i < len(rs) && rs[i] == '*' {
			if used {
				return "", &pyError{pyTypeError, "not enough arguments for format string"}
			}
			if !arg.isInt {
				return "", &pyError{pyTypeError, "* wants int"}
			}
			used = true
			width = int(arg.n)
			if width < 0 {
				minus = true
				width = -width
			}
			i++
		} else {
			for i < len(rs) && rs[i] >= '0' && rs[i] <= '9' {
				if width < 0 {
					width = 0
				}
				width = width*10 + int(rs[i]-'0')
				if width > math.MaxInt32 {
					return "", &pyError{pyValueError, "width too big"}
				}
				i++
			}
		}
		if i < len(rs) && rs[i] == '.' {
			i++
			prec = 0
			if i < len(rs) && rs[i] == '*' {
				if used {
					return "", &pyError{pyTypeError, "not enough arguments for format string"}
				}
				if !arg.isInt {
					return "", &pyError{pyTypeError, "* wants int"}
				}
				used = true
				prec = max(int(arg.n), 0)
				i++
			} else {
				for i < len(rs) && rs[i] >= '0' && rs[i] <= '9' {
					prec = prec*10 + int(rs[i]-'0')
					if prec > math.MaxInt32 {
						return "", &pyError{pyValueError, "precision too big"}
					}
					i++
				}
			}
		}
		for i < len(rs) && (rs[i] == 'h' || rs[i] == 'l' || rs[i] == 'L') {
			i++
		}
		if i >= len(rs) {
			return "", &pyError{pyValueError, "incomplete format"}
		}
		conv := rs[i]
		i++
		if !strings.ContainsRune("sradiuoxXeEfFgGc", conv) {
			return "", &pyError{pyValueError, fmt.Sprintf("unsupported format character %s (0x%x) at index %d", pyRepr(string(conv)), conv, i-1)}
		}
		if used {
			return "", &pyError{pyTypeError, "not enough arguments for format string"}
		}
		used = true
		out, numeric, err := convert(conv, arg, alt, plus, space, prec)
		if err != nil {
			return "", err
		}
		pad := width - utf8.RuneCountInString(out)
		switch {
		case pad <= 0:
			b.WriteString(out)
		case minus:
			b.WriteString(out)
			b.WriteString(strings.Repeat(" ", pad))
		case zero && numeric:
			// zeros go after the sign and the base prefix
			head := 0
			if strings.HasPrefix(out, "-") || strings.HasPrefix(out, "+") || strings.HasPrefix(out, " ") {
				head = 1
			}
			if len(out) >= head+2 && out[head] == '0' && strings.ContainsRune("xXo", rune(out[head+1])) {
				head += 2
			}
			b.WriteString(out[:head])
			b.WriteString(strings.Repeat("0", pad))
			b.WriteString(out[head:])
		default:
			b.WriteString(strings.Repeat(" ", pad))
			b.WriteString(out)
		}
	}
	if !used && !arg.obj {
		// A RangeSet has __getitem__, so Python takes it for a mapping
		// and does not complain about an unused argument.
		return "", &pyError{pyTypeError, "not all arguments converted during string formatting"}
	}
	return b.String(), nil
}

// convert formats arg for one conversion character; numeric reports
// whether zero padding applies.
func convert(conv rune, arg pyArg, alt, plus, space bool, prec int) (string, bool, error) {
	sign := func(neg bool) string {
		switch {
		case neg:
			return "-"
		case plus:
			return "+"
		case space:
			return " "
		}
		return ""
	}
	switch conv {
	case 's', 'r', 'a':
		var s string
		switch {
		case arg.isInt:
			s = strconv.FormatInt(arg.n, 10)
		case conv == 's' || arg.obj:
			s = arg.s
		case conv == 'r':
			s = pyRepr(arg.s)
		default:
			s = pyASCII(arg.s)
		}
		if prec >= 0 {
			r := []rune(s)
			if prec < len(r) {
				s = string(r[:prec])
			}
		}
		return s, false, nil
	case 'c':
		if arg.isInt {
			if arg.n < 0 || arg.n > unicode.MaxRune {
				return "", false, &pyError{pyOverflowError, "%c arg not in range(0x110000)"}
			}
			return string(rune(arg.n)), false, nil
		}
		if arg.obj || utf8.RuneCountInString(arg.s) != 1 {
			return "", false, &pyError{pyTypeError, "%c requires int or char"}
		}
		return arg.s, false, nil
	case 'd', 'i', 'u':
		if !arg.isInt {
			return "", false, &pyError{pyTypeError, fmt.Sprintf("%%%c format: a real number is required, not %s", conv, arg.typeName())}
		}
		digits := strconv.FormatUint(absU(arg.n), 10)
		if prec > len(digits) {
			digits = strings.Repeat("0", prec-len(digits)) + digits
		}
		return sign(arg.n < 0) + digits, true, nil
	case 'o', 'x', 'X':
		if !arg.isInt {
			return "", false, &pyError{pyTypeError, fmt.Sprintf("%%%c format: an integer is required, not %s", conv, arg.typeName())}
		}
		base := 16
		if conv == 'o' {
			base = 8
		}
		digits := strconv.FormatUint(absU(arg.n), base)
		if prec > len(digits) {
			digits = strings.Repeat("0", prec-len(digits)) + digits
		}
		prefix := ""
		if alt {
			prefix = "0" + string(conv)
		}
		out := prefix + digits
		if conv == 'X' {
			out = strings.ToUpper(out)
			if alt {
				out = "0X" + out[2:]
			}
		}
		return sign(arg.n < 0) + out, true, nil
	default: // e E f F g G
		if !arg.isInt {
			return "", false, &pyError{pyTypeError, "must be real number, not " + arg.typeName()}
		}
		v := float64(arg.n)
		if prec < 0 {
			prec = 6
		}
		var s string
		switch conv {
		case 'e', 'E':
			s = strconv.FormatFloat(math.Abs(v), 'e', prec, 64)
		case 'f', 'F':
			s = strconv.FormatFloat(math.Abs(v), 'f', prec, 64)
		default:
			if prec == 0 {
				prec = 1
			}
			s = pyG(math.Abs(v), prec, alt)
		}
		if alt && !strings.Contains(s, ".") && conv != 'g' && conv != 'G' {
			if k := strings.IndexAny(s, "eE"); k >= 0 {
				s = s[:k] + "." + s[k:]
			} else {
				s += "."
			}
		}
		if conv == 'E' || conv == 'F' || conv == 'G' {
			s = strings.ToUpper(s)
		}
		return sign(v < 0) + s, true, nil
	}
}

// pyG formats v (>= 0) as Python's "%.{prec}g".
func pyG(v float64, prec int, alt bool) string {
	if v == 0 {
		if alt {
			return "0." + strings.Repeat("0", prec-1)
		}
		return "0"
	}
	e := strconv.FormatFloat(v, 'e', prec-1, 64)
	k := strings.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(e[k+1:])
	var s string
	if exp < -4 || exp >= prec {
		mant := e[:k]
		if !alt && strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		s = mant + e[k:]
	} else {
		s = strconv.FormatFloat(v, 'f', prec-1-exp, 64)
		if !alt && strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
	}
	return s
}

func absU(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1
	}
	return uint64(n)
}

// pyRepr returns Python's repr() of a str.
func pyRepr(s string) string {
	return pyQuote(s, false)
}

// pyASCII returns Python's ascii() of a str.
func pyASCII(s string) string {
	return pyQuote(s, true)
}

func pyQuote(s string, ascii bool) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, "\"") {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case !ascii && pyPrintable(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyPrintable approximates Python's str.isprintable() for one character.
func pyPrintable(r rune) bool {
	if r == ' ' {
		return true
	}
	if unicode.Is(unicode.Zs, r) || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp) {
		return false
	}
	return unicode.IsPrint(r) || unicode.IsGraphic(r)
}
