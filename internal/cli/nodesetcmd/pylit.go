package nodesetcmd

import (
	"errors"
	"strconv"
	"strings"
)

// ClusterShell's nodeset interprets its -S/--separator value as the body
// of a Python triple-quoted string literal, so that "\n" or "\t" work. The
// evaluator below accepts what such an expression can legitimately be: one
// or more adjacent plain or raw string literals (a separator containing
// "'''" closes the first literal and may open others), with white space
// and comments between them. Anything else is an invalid separator.

var errInvalidSeparator = errors.New("invalid separator")

// evalSeparator returns the separator a -S value denotes, as runes (a
// Python string may hold lone surrogates, which cannot be printed).
func evalSeparator(sep string) ([]rune, error) {
	if !strings.ContainsAny(sep, `\'"#`) {
		return []rune(sep), nil // no escapes, cannot close the literal
	}
	src := []rune("'''" + sep + "'''")
	var out []rune
	i, n := 0, len(src)
	literals := 0
	plus := false // a + operator waits for its right operand
	for {
		// Skip white space, line continuations and comments.
		for i < n {
			switch c := src[i]; {
			case c == ' ' || c == '\t' || c == '\f':
				i++
			case c == '\\' && i+1 < n && src[i+1] == '\n':
				i += 2
			case c == '#':
				for i < n && src[i] != '\n' && src[i] != '\r' {
					i++
				}
			case c == '\n' || c == '\r':
				// A line break ends the expression: only blank lines and
				// comments may follow.
				for j := i; j < n; j++ {
					switch src[j] {
					case ' ', '\t', '\f', '\n', '\r':
					case '#':
						for j < n && src[j] != '\n' {
							j++
						}
					default:
						return nil, errInvalidSeparator
					}
				}
				i = n
			default:
				goto literal
			}
		}
		if literals == 0 || plus {
			return nil, errInvalidSeparator
		}
		return out, nil
	literal:
		if src[i] == '+' && literals > 0 && !plus {
			// Adjacent literals may also be joined with the + operator.
			plus = true
			i++
			continue
		}
		plus = false
		raw := false
		if i < n && strings.ContainsRune("rRuU", src[i]) {
			raw = src[i] == 'r' || src[i] == 'R'
			i++
		}
		if i >= n || (src[i] != '\'' && src[i] != '"') {
			return nil, errInvalidSeparator
		}
		q := src[i]
		triple := i+2 < n && src[i+1] == q && src[i+2] == q
		if triple {
			i += 3
		} else {
			i++
		}
		closed := false
		for i < n {
			c := src[i]
			if c == q {
				if !triple {
					i++
					closed = true
					break
				}
				if i+2 < n && src[i+1] == q && src[i+2] == q {
					i += 3
					closed = true
					break
				}
				out = append(out, c)
				i++
				continue
			}
			if !triple && (c == '\n' || c == '\r') {
				return nil, errInvalidSeparator
			}
			if c != '\\' {
				out = append(out, c)
				i++
				continue
			}
			// backslash
			if i+1 >= n {
				return nil, errInvalidSeparator
			}
			if raw {
				out = append(out, c, src[i+1])
				i += 2
				continue
			}
			e := src[i+1]
			i += 2
			switch e {
			case '\n':
			case '\\', '\'', '"':
				out = append(out, e)
			case 'a':
				out = append(out, 7)
			case 'b':
				out = append(out, 8)
			case 'f':
				out = append(out, 12)
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'v':
				out = append(out, 11)
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v := int(e - '0')
				for k := 0; k < 2 && i < n && src[i] >= '0' && src[i] <= '7'; k++ {
					v = v*8 + int(src[i]-'0')
					i++
				}
				out = append(out, rune(v))
			case 'x', 'u', 'U':
				width := map[rune]int{'x': 2, 'u': 4, 'U': 8}[e]
				if i+width > n {
					return nil, errInvalidSeparator
				}
				v, err := strconv.ParseUint(string(src[i:i+width]), 16, 32)
				if err != nil || strings.ContainsAny(string(src[i:i+width]), "+-_") || v > 0x10FFFF {
					return nil, errInvalidSeparator
				}
				out = append(out, rune(v))
				i += width
			case 'N':
				// Named characters need the Unicode name table; not supported.
				return nil, errInvalidSeparator
			default:
				out = append(out, '\\', e)
			}
		}
		if !closed {
			return nil, errInvalidSeparator
		}
		literals++
	}
}
