package exec

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is wrapped by the errors Split returns.
var ErrSyntax = errors.New("bad command line")

// Split splits a command line into words the way a POSIX shell would for
// a simple command, without any expansion: blanks (space, tab, newline)
// separate words; inside single quotes every character is literal; inside
// double quotes a backslash escapes only $ ` " \ and newline; outside
// quotes a backslash escapes the next character (a backslash-newline pair
// is removed).
func Split(line string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch c {
		case ' ', '\t', '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case '\\':
			if i+1 >= len(line) {
				return nil, fmt.Errorf("%w: %q ends with a backslash", ErrSyntax, line)
			}
			i++
			if line[i] != '\n' {
				w.WriteByte(line[i])
				inWord = true
			}
		case '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated single quote at offset %d in %q", ErrSyntax, i, line)
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case '"':
			start := i
			closed := false
			for i++; i < len(line); i++ {
				d := line[i]
				if d == '"' {
					closed = true
					break
				}
				if d == '\\' && i+1 < len(line) {
					switch e := line[i+1]; e {
					case '$', '`', '"', '\\':
						w.WriteByte(e)
						i++
						continue
					case '\n':
						i++
						continue
					}
				}
				w.WriteByte(d)
			}
			if !closed {
				return nil, fmt.Errorf("%w: unterminated double quote at offset %d in %q", ErrSyntax, start, line)
			}
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
