package nodeset

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the small INI reader used for groups.conf and the
// groups.conf.d/*.conf parts. It follows the rules of Python's configparser
// in the configuration ClusterShell uses (ConfigParser() with its defaults):
//
//   - "[name]" starts a section; the name is everything between the first
//     "[" and the last "]" of the line, spaces kept, case kept.
//   - "key = value" and "key: value"; the first "=" or ":" splits; keys are
//     lower-cased and stripped, values stripped.
//   - Full-line comments start with "#" or ";" (after optional indentation);
//     there are no inline comments.
//   - A line indented deeper than its key's line continues the value (joined
//     with "\n"); blank lines inside a value are kept, trailing ones dropped.
//   - [DEFAULT] supplies values to every section.
//   - A section or key repeated within one file is an error; reading several
//     files into one iniFile merges them, later values winning.
//   - Values read with interpolation expand "%(key)s" and "%%".

// iniSection is one section: keys in first-seen order with their values.
type iniSection struct {
	name       string
	headerFile string // file and line where the section first appeared
	headerLine int
	keys       []string
	values     map[string]string
	lines      map[string]int // line of the key (last file that set it)
	file       map[string]string
}

func newINISection(name string) *iniSection {
	return &iniSection{name: name, values: map[string]string{}, lines: map[string]int{}, file: map[string]string{}}
}

func (s *iniSection) set(key, value, file string, line int) {
	if _, ok := s.values[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.values[key] = value
	s.lines[key] = line
	s.file[key] = file
}

// iniFile is the merged content of one or more INI files.
type iniFile struct {
	defaults *iniSection
	sections []*iniSection
	byName   map[string]*iniSection
}

func newINIFile() *iniFile {
	return &iniFile{defaults: newINISection(iniDefaultSection), byName: map[string]*iniSection{}}
}

const (
	iniDefaultSection = "DEFAULT"
	// iniMaxInterpolationDepth is configparser's MAX_INTERPOLATION_DEPTH.
	iniMaxInterpolationDepth = 10
)

// pyIsSpace reports whether r is whitespace for Python's str.isspace (and so
// for str.strip, str.split and the \s of str regular expressions).
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyFields splits s around runs of Python whitespace (str.split()).
func pyFields(s string) []string { return strings.FieldsFunc(s, pyIsSpace) }

// pyLines splits data as Python's text-mode file iteration does (universal
// newlines: "\n", "\r\n" and "\r" end a line); line ends are dropped.
func pyLines(data string) []string {
	var lines []string
	for len(data) > 0 {
		i := strings.IndexAny(data, "\r\n")
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return lines
}

// iniError is a syntax error found while reading an INI file.
type iniError struct {
	line int
	msg  string
}

// read parses data (the content of file) and merges it into f. On error f
// may hold part of the file, as configparser's does; callers discard it.
func (f *iniFile) read(file string, data []byte) error {
	if !utf8.Valid(data) {
		return &GroupsConfigError{File: file, Msg: "file is not valid UTF-8 text"}
	}
	type pending struct {
		sect *iniSection
		key  string
		vals []string
		line int
	}
	var (
		cur        *iniSection // nil before the first header
		curName    string
		opt        *pending // option being read (continuation target)
		indent     = 0
		added      = map[string]bool{} // sections and section\x00key seen in this file
		bad        []iniError
		allPending []*pending
	)
	for i, line := range pyLines(string(data)) {
		lineno := i + 1
		stripped := pyStrip(line)
		if strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";") {
			continue // full-line comment: never part of a value
		}
		if stripped == "" {
			// A blank line is kept inside the current value.
			if cur != nil && opt != nil {
				opt.vals = append(opt.vals, "")
			}
			continue
		}
		curIndent := 0
		for _, r := range line {
			if !pyIsSpace(r) {
				break
			}
			curIndent++
		}
		if cur != nil && opt != nil && curIndent > indent {
			opt.vals = append(opt.vals, stripped)
			continue
		}
		indent = curIndent
		if name, ok := iniHeader(stripped); ok {
			curName = name
			switch {
			case name == iniDefaultSection:
				cur = f.defaults
			case f.byName[name] != nil:
				if added[name] {
					return &GroupsConfigError{File: file, Line: lineno,
						Msg: fmt.Sprintf("section %q already exists in this file", name)}
				}
				cur = f.byName[name]
				added[name] = true
			default:
				cur = newINISection(name)
				cur.headerFile, cur.headerLine = file, lineno
				f.byName[name] = cur
				f.sections = append(f.sections, cur)
				added[name] = true
			}
			opt = nil
			continue
		}
		if cur == nil {
			return &GroupsConfigError{File: file, Line: lineno,
				Msg: fmt.Sprintf("no section header before %q (expected a line like [Main])", stripped)}
		}
		d := strings.IndexAny(stripped, "=:")
		if d < 0 {
			bad = append(bad, iniError{lineno, fmt.Sprintf("%q is neither a section header, a key = value line nor a comment", stripped)})
			continue
		}
		key := strings.ToLower(strings.TrimRightFunc(stripped[:d], pyIsSpace))
		if key == "" {
			bad = append(bad, iniError{lineno, fmt.Sprintf("%q has no key before %q", stripped, stripped[d:d+1])})
		}
		if added[curName+"\x00"+key] {
			return &GroupsConfigError{File: file, Line: lineno,
				Msg: fmt.Sprintf("key %q in section %q already exists in this file", key, curName)}
		}
		added[curName+"\x00"+key] = true
		opt = &pending{sect: cur, key: key, vals: []string{pyStrip(stripped[d+1:])}, line: lineno}
		allPending = append(allPending, opt)
		if key == "" {
			opt = nil // configparser keeps no continuation target for an empty key
		}
	}
	// Join multi-line values; later pendings for the same key (from an
	// earlier file) are superseded by order.
	for _, p := range allPending {
		val := strings.TrimRightFunc(strings.Join(p.vals, "\n"), pyIsSpace)
		p.sect.set(p.key, val, file, p.line)
	}
	if len(bad) > 0 {
		msgs := make([]string, len(bad))
		for i, b := range bad {
			msgs[i] = fmt.Sprintf("line %d: %s", b.line, b.msg)
		}
		return &GroupsConfigError{File: file, Line: bad[0].line, Msg: strings.Join(msgs, "; ")}
	}
	return nil
}

// iniHeader matches configparser's section regexp \[(?P<header>.+)\] at the
// start of a stripped line: the header runs to the last "]".
func iniHeader(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return "", false
	}
	j := strings.LastIndexByte(s, ']')
	if j < 2 {
		return "", false
	}
	return s[1:j], true
}

// hasSection reports whether name is a (non-DEFAULT) section.
func (f *iniFile) hasSection(name string) bool { return f.byName[name] != nil }

// raw returns the uninterpolated value of key in section, looking in
// [DEFAULT] too. ok is false when the section or the key is missing.
func (f *iniFile) raw(section, key string) (val string, ok bool) {
	s := f.byName[section]
	if s == nil {
		return "", false
	}
	if v, ok := s.values[key]; ok {
		return v, true
	}
	v, ok := f.defaults.values[key]
	return v, ok
}

// where names the file and line that set key in section, for messages.
func (f *iniFile) where(section, key string) (string, int) {
	if s := f.byName[section]; s != nil {
		if _, ok := s.values[key]; ok {
			return s.file[key], s.lines[key]
		}
	}
	return f.defaults.file[key], f.defaults.lines[key]
}

// get returns the value of key in section with configparser's basic
// interpolation applied ("%(name)s" is the value of key name of the same
// section or [DEFAULT], "%%" is "%").
func (f *iniFile) get(section, key string) (string, bool, error) {
	v, ok := f.raw(section, key)
	if !ok {
		return "", false, nil
	}
	var b strings.Builder
	if err := f.interpolate(section, key, v, &b, 1); err != nil {
		file, line := f.where(section, key)
		return "", true, &GroupsConfigError{File: file, Line: line, Msg: err.Error()}
	}
	return b.String(), true, nil
}

func (f *iniFile) interpolate(section, key, rest string, b *strings.Builder, depth int) error {
	if depth > iniMaxInterpolationDepth {
		return fmt.Errorf("value of %q in section %q: %%(...)s references nest deeper than %d levels", key, section, iniMaxInterpolationDepth)
	}
	for rest != "" {
		p := strings.IndexByte(rest, '%')
		if p < 0 {
			b.WriteString(rest)
			return nil
		}
		b.WriteString(rest[:p])
		rest = rest[p:]
		switch {
		case strings.HasPrefix(rest, "%%"):
			b.WriteByte('%')
			rest = rest[2:]
		case strings.HasPrefix(rest, "%("):
			end := strings.IndexByte(rest, ')')
			if end < 3 || !strings.HasPrefix(rest[end:], ")s") {
				return fmt.Errorf("value of %q in section %q: bad interpolation reference %q (expected %%(name)s)", key, section, rest)
			}
			name := strings.ToLower(rest[2:end])
			rest = rest[end+2:]
			v, ok := f.raw(section, name)
			if !ok {
				return fmt.Errorf("value of %q in section %q: %%(%s)s refers to a missing key", key, section, name)
			}
			if strings.Contains(v, "%") {
				if err := f.interpolate(section, key, v, b, depth+1); err != nil {
					return err
				}
			} else {
				b.WriteString(v)
			}
		default:
			return fmt.Errorf("value of %q in section %q: '%%' must be followed by '%%' or '(', found %q", key, section, rest)
		}
	}
	return nil
}

// shellSplit splits s into words as Python's shlex.split does (POSIX mode,
// no comments): whitespace separates words, '...' quotes literally, "..."
// quotes with backslash escaping only \ and ", and a backslash outside
// quotes escapes the next character.
func shellSplit(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune // 0, '\'' or '"'
		escaped bool
		escQ    rune // quote state when the escape started
	)
	for _, r := range s {
		switch {
		case escaped:
			if escQ == '"' && r != '"' && r != '\\' {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped, escQ = true, '"'
			default:
				cur.WriteRune(r)
			}
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '\\':
			escaped, escQ, inWord = true, 0, true
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if escaped {
		return nil, fmt.Errorf("%q ends with a lone backslash", s)
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q has no closing %c quote", s, quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// safeSubstitute expands $NAME and ${NAME} from vars as Python's
// string.Template.safe_substitute does: "$$" is "$", names are ASCII
// [_A-Za-z][_A-Za-z0-9]*, and names not in vars are left as written.
func safeSubstitute(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, "$$") {
			b.WriteByte('$')
			s = s[2:]
			continue
		}
		braced := strings.HasPrefix(s, "${")
		start := 1
		if braced {
			start = 2
		}
		n := identLen(s[start:])
		if n == 0 || (braced && !strings.HasPrefix(s[start+n:], "}")) {
			b.WriteByte('$')
			s = s[1:]
			continue
		}
		name := s[start : start+n]
		end := start + n
		if braced {
			end++
		}
		if v, ok := vars[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[:end])
		}
		s = s[end:]
	}
}

func identLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		case c >= '0' && c <= '9' && i > 0:
		default:
			return i
		}
	}
	return len(s)
}

// pyDirname is Python's os.path.dirname: everything before the last "/",
// with trailing slashes removed unless it is all slashes ("" for a bare
// file name).
func pyDirname(p string) string {
	i := strings.LastIndexByte(p, '/') + 1
	head := p[:i]
	if head != "" && head != strings.Repeat("/", len(head)) {
		head = strings.TrimRight(head, "/")
	}
	return head
}
