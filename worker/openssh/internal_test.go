package openssh

import (
	"bytes"
	"testing"
)

// FuzzProbeFilter checks that the probe marker is removed only at the
// start of the stream (after at most a few complete lines), whatever the
// write boundaries, and that everything else passes unchanged.
func FuzzProbeFilter(f *testing.F) {
	f.Add([]byte("warning\n"), []byte("out\nmore"), true, uint8(3))
	f.Add([]byte(""), []byte("MUSTER-CONNECTED-00\n"), true, uint8(1))
	f.Add([]byte("partial"), []byte("x"), false, uint8(5))
	f.Fuzz(func(t *testing.T, before, after []byte, withMarker bool, step uint8) {
		marker := []byte("MUSTER-CONNECTED-0123456789abcdef\n")
		if bytes.Contains(before, marker[:8]) || bytes.Contains(after, marker[:8]) {
			return
		}
		if bytes.Count(before, []byte{'\n'}) >= probeMaxLines {
			return
		}
		if len(before) > 0 && before[len(before)-1] != '\n' {
			before = append(before, '\n') // the marker is a line of its own
		}
		var in []byte
		in = append(in, before...)
		if withMarker {
			in = append(in, marker...)
		}
		in = append(in, after...)
		var out bytes.Buffer
		p := &probeFilter{marker: marker, w: &out}
		n := int(step)%11 + 1
		for i := 0; i < len(in); i += n {
			p.Write(in[i:min(i+n, len(in))])
		}
		p.Close()
		want := append(append([]byte{}, before...), after...)
		if p.Seen() != withMarker || !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("in %q: seen %v, out %q; want %v, %q", in, p.Seen(), out.Bytes(), withMarker, want)
		}
	})
}
