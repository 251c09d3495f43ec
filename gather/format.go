package gather

import (
	"iter"
	"strconv"
)

// Separator is the line that frames a dshbak header.
const Separator = "---------------"

// AppendHeader appends a dshbak-style header naming nodes:
//
//	---------------
//	nodes (count)
//	---------------
//
// The " (count)" part is written only when count > 1.
func AppendHeader(dst []byte, nodes string, count int) []byte {
	dst = append(dst, Separator...)
	dst = append(dst, '\n')
	dst = append(dst, nodes...)
	if count > 1 {
		dst = append(dst, " ("...)
		dst = strconv.AppendInt(dst, int64(count), 10)
		dst = append(dst, ')')
	}
	dst = append(dst, '\n')
	dst = append(dst, Separator...)
	return append(dst, '\n')
}

// AppendBlock appends a header (see AppendHeader) followed by the lines,
// each ending with a newline. With label false only the lines are written.
func AppendBlock(dst []byte, label bool, nodes string, count int, lines iter.Seq[[]byte]) []byte {
	if label {
		dst = AppendHeader(dst, nodes, count)
	}
	for l := range lines {
		dst = append(dst, l...)
		dst = append(dst, '\n')
	}
	return dst
}

// AppendLine appends "prefix: line\n", or "line\n" when prefix is empty.
func AppendLine(dst []byte, prefix string, line []byte) []byte {
	if prefix != "" {
		dst = append(dst, prefix...)
		dst = append(dst, ": "...)
	}
	dst = append(dst, line...)
	return append(dst, '\n')
}
