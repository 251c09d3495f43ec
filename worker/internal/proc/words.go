package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrSyntax is matched by errors from SplitWords: an unterminated quote or
// a trailing backslash.
var ErrSyntax = errors.New("bad quoting")

// SplitWords splits s into words the way a POSIX shell splits a simple
// command line without expansions (and like Python's shlex.split, which
// ClusterShell uses for ssh_path and ssh_options): blanks separate words,
// single quotes keep everything literally, double quotes keep everything
// but \" \\ \$ \` and a backslash-newline, and a backslash outside quotes
// escapes the next character. An empty s gives no words.
func SplitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // a word is being built (possibly empty: '')
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%w: trailing backslash in %q", ErrSyntax, s)
			}
			i++
			if s[i] != '\n' {
				cur.WriteByte(s[i])
				in = true
			}
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated single quote at offset %d in %q", ErrSyntax, i, s)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			in = true
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					switch s[j+1] {
					case '"', '\\', '$', '`':
						j++
					case '\n':
						j++
						continue
					}
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("%w: unterminated double quote at offset %d in %q", ErrSyntax, i, s)
			}
			i = j
			in = true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// ExpandHome replaces a leading "~" or "~/" with the current user's home
// directory, as ClusterShell does for ssh_path and ssh_options ("-i
// ~/.ssh/id"). Other words are returned unchanged.
func ExpandHome(w string) string {
	if w != "~" && !strings.HasPrefix(w, "~/") {
		return w
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return w
	}
	return filepath.Join(home, w[1:])
}

// Program splits a transport's program setting (such as "ssh" or
// "sshpass -p pw ssh"; def when empty) into words with ~ expanded. what
// names the setting in errors, which say when no program is left.
func Program(what, path, def string) ([]string, error) {
	if path == "" {
		path = def
	}
	words, err := Options(what, path)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%s %q: %w: expected a program name", what, path, ErrSyntax)
	}
	return words, nil
}

// Options splits an options setting into words, as a shell would, with ~
// expanded. what names the setting in errors.
func Options(what, s string) ([]string, error) {
	words, err := SplitWords(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for i, w := range words {
		words[i] = ExpandHome(w)
	}
	return words, nil
}
