package nodeset

import (
	"errors"
	"fmt"
)

// ErrParse is the sentinel matched (with errors.Is) by every *ParseError.
var ErrParse = errors.New("nodeset: parse error")

// ErrNoResolver reports a group reference ("@group", "@*", a wildcard)
// parsed with no Resolver configured.
var ErrNoResolver = errors.New("nodeset: no group resolver configured")

// ParseError describes a node set or range set string that cannot be
// parsed: the input, the byte offset of the offending text in it, the
// offending text itself and what was expected instead.
type ParseError struct {
	Input string // the string given to Parse or ParseRangeSet
	Pos   int    // byte offset of Text in Input
	Text  string // the offending part
	Msg   string // what is wrong / what was expected
	Err   error  // underlying error (group resolution), or nil
}

// Error describes the input, the position and what was expected.
func (e *ParseError) Error() string {
	s := fmt.Sprintf("nodeset: parse error in %q at byte %d", e.Input, e.Pos)
	if e.Text != "" {
		s += fmt.Sprintf(" (%q)", e.Text)
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrParse) true for every *ParseError.
func (e *ParseError) Is(target error) bool { return target == ErrParse }

// Unwrap returns the underlying error, if any.
func (e *ParseError) Unwrap() error { return e.Err }
