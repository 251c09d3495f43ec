package exec

import (
	"fmt"
	"strconv"
	"strings"
)

// PatternError reports a bad placeholder in a command.
type PatternError struct {
	// Pattern is the whole command in which the placeholder was found.
	Pattern string
	// Name is the unknown placeholder name, or "" for a % followed by
	// something that is not a name (then Line and Col locate it, 1-based,
	// Col counting the % itself).
	Name string
	// Line and Col locate a % not followed by a name (0 when Name is set).
	Line, Col int
}

// Error names the unknown placeholder and the ones that exist, or locates
// the stray %.
func (e *PatternError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("exec: unknown placeholder %%%s in %q (expected %%h, %%host, %%hosts, %%n, %%rank; %%%% for a literal %%)", e.Name, e.Pattern)
	}
	return fmt.Sprintf("exec: invalid placeholder at line %d, column %d of %q (use %%%% for a literal %%)", e.Line, e.Col, e.Pattern)
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdent(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

// Expand substitutes the placeholders of pattern for node and rank.
func Expand(pattern, node string, rank int) (string, error) {
	if strings.IndexByte(pattern, '%') < 0 {
		return pattern, nil
	}
	var b strings.Builder
	b.Grow(len(pattern) + len(node))
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if c != '%' {
			j := strings.IndexByte(pattern[i:], '%')
			if j < 0 {
				b.WriteString(pattern[i:])
				break
			}
			b.WriteString(pattern[i : i+j])
			i += j
			continue
		}
		// pattern[i] == '%'
		rest := pattern[i+1:]
		var name string
		switch {
		case strings.HasPrefix(rest, "%"):
			b.WriteByte('%')
			i += 2
			continue
		case len(rest) > 0 && isIdentStart(rest[0]):
			n := 1
			for n < len(rest) && isIdent(rest[n]) {
				n++
			}
			name = rest[:n]
			i += 1 + n
		case len(rest) > 1 && rest[0] == '{' && isIdentStart(rest[1]):
			n := 2
			for n < len(rest) && isIdent(rest[n]) {
				n++
			}
			if n >= len(rest) || rest[n] != '}' {
				return "", invalidAt(pattern, i+1)
			}
			name = rest[1:n]
			i += 2 + n
		default:
			return "", invalidAt(pattern, i+1)
		}
		switch name {
		case "h", "host", "hosts":
			b.WriteString(node)
		case "n", "rank":
			b.WriteString(strconv.Itoa(rank))
		default:
			return "", &PatternError{Pattern: pattern, Name: name}
		}
	}
	return b.String(), nil
}

// invalidAt locates offset (just past the %) as ClusterShell does.
func invalidAt(pattern string, off int) error {
	head := pattern[:off]
	line := 1 + strings.Count(head, "\n")
	if strings.HasSuffix(head, "\n") {
		line--
	}
	start := 0
	if k := strings.LastIndexByte(head[:len(head)-1], '\n'); k >= 0 {
		start = k + 1
	}
	return &PatternError{Pattern: pattern, Line: line, Col: off - start}
}

// Check reports whether pattern's placeholders are all valid.
func Check(pattern string) error {
	_, err := Expand(pattern, "", 0)
	return err
}
