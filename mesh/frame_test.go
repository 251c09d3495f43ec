package mesh

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	in := &Message{Dst: 1, Src: 2, Auth: 3, Handle: 4, ReplyTo: 5, Flags: FlagRaw | FlagDead, Body: []byte("body")}
	var buf bytes.Buffer
	var hdr [HeaderSize]byte
	if err := writeFrame(&buf, &hdr, in); err != nil {
		t.Fatal(err)
	}
	want := []byte{0x4d, 0x55, 1, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 4, 'b', 'o', 'd', 'y'}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("wire % x\nwant % x", buf.Bytes(), want)
	}
	out, err := readFrame(&buf, &hdr, 100)
	if err != nil {
		t.Fatal(err)
	}
	if out.Dst != 1 || out.Src != 2 || out.Auth != 3 || out.Handle != 4 || out.ReplyTo != 5 || out.Flags != in.Flags || string(out.Body) != "body" {
		t.Fatalf("got %+v", out)
	}
	if _, err := readFrame(&buf, &hdr, 100); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
}

func TestFrameErrors(t *testing.T) {
	var hdr [HeaderSize]byte
	good := func() []byte {
		var b bytes.Buffer
		_ = writeFrame(&b, &hdr, &Message{Handle: 1000, Body: []byte("12345678")})
		return b.Bytes()
	}
	for _, tc := range []struct {
		name  string
		edit  func([]byte) []byte
		frame bool // a *FrameError, else a truncation
	}{
		{"magic", func(b []byte) []byte { b[1] = 0; return b }, true},
		{"version", func(b []byte) []byte { b[offVersion] = 2; return b }, true},
		{"reserved", func(b []byte) []byte { b[offResv] = 1; return b }, true},
		{"flags", func(b []byte) []byte { b[offFlags] = 1; return b }, true},
		{"oversized", func(b []byte) []byte { b[offLength+3] = 9; return b }, true},
		{"short header", func(b []byte) []byte { return b[:10] }, false},
		{"short body", func(b []byte) []byte { return b[:HeaderSize+3] }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readFrame(bytes.NewReader(tc.edit(good())), &hdr, 8)
			var fe *FrameError
			if tc.frame != errors.As(err, &fe) || (tc.frame && !errors.Is(err, ErrFrame)) {
				t.Fatalf("err %v (%T), want frame error %v", err, err, tc.frame)
			}
			if !tc.frame && err != io.ErrUnexpectedEOF {
				t.Fatalf("err %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

// FuzzReadFrame feeds arbitrary bytes to the frame decoder: it must never
// panic, never allocate beyond the maximum size, and whatever it accepts
// must re-encode to the same bytes.
func FuzzReadFrame(f *testing.F) {
	var hdr [HeaderSize]byte
	var b bytes.Buffer
	_ = writeFrame(&b, &hdr, &Message{Dst: 1, Src: 2, Auth: 2, Handle: 101, ReplyTo: 1000, Body: []byte{0x82, 0x61, 'x', 0xf6}})
	f.Add(b.Bytes())
	b.Reset()
	_ = writeFrame(&b, &hdr, &Message{Flags: FlagDead | FlagRaw, Body: []byte("no route")})
	f.Add(b.Bytes())
	f.Add([]byte("MU\x01\x00garbage"))
	f.Add(greeting)
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 16
		r := bytes.NewReader(data)
		var hdr [HeaderSize]byte
		for {
			off := int(r.Size()) - r.Len()
			m, err := readFrame(r, &hdr, max)
			if err != nil {
				return
			}
			if len(m.Body) > max {
				t.Fatalf("body of %d bytes accepted, max %d", len(m.Body), max)
			}
			var out bytes.Buffer
			if err := writeFrame(&out, &hdr, m); err != nil {
				t.Fatal(err)
			}
			end := int(r.Size()) - r.Len()
			if !bytes.Equal(out.Bytes(), data[off:end]) {
				t.Fatalf("re-encoded % x, read % x", out.Bytes(), data[off:end])
			}
			// the body decoders must not panic either
			_ = m.Err()
			var v any
			_ = m.Decode(&v)
		}
	})
}

// FuzzParseBoot feeds arbitrary boot frames to the agent's check: it never
// panics and accepts only consistent configurations.
func FuzzParseBoot(f *testing.F) {
	good, _ := Encode(bootConfig{ID: 3, ParentIDs: []ID{1, 0}, Name: "x", MaxMessageSize: 1 << 20})
	f.Add(uint32(3), uint32(1), good)
	f.Add(uint32(0), uint32(0), []byte{0x80})
	f.Fuzz(func(t *testing.T, dst, src uint32, body []byte) {
		m := &Message{Dst: ID(dst), Src: ID(src), Auth: ID(src), Handle: HandleBoot, Body: body}
		bc, err := parseBoot(m)
		if err != nil {
			return
		}
		if bc.ID != ID(dst) || bc.ID == 0 || len(bc.ParentIDs) == 0 || bc.ParentIDs[0] != ID(src) || bc.ParentIDs[len(bc.ParentIDs)-1] != 0 {
			t.Fatalf("accepted %+v from %d to %d", bc, src, dst)
		}
	})
}

// FuzzGoPlatform feeds arbitrary `uname -s -m` output to the platform
// parser: it never panics, and an accepted OS and architecture are single
// lower-case words.
func FuzzGoPlatform(f *testing.F) {
	f.Add("Linux x86_64\n")
	f.Add("Darwin arm64")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		goos, goarch, err := goPlatform(s)
		if err != nil {
			return
		}
		if goos == "" || goarch == "" || goos != strings.ToLower(goos) || strings.ContainsAny(goos+goarch, " \t\n") {
			t.Fatalf("goPlatform(%q) = %q %q", s, goos, goarch)
		}
	})
}
