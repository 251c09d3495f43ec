package service

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

type fuzzReq struct {
	Name  string            `cbor:"name"`
	N     int               `cbor:"n"`
	Data  []byte            `cbor:"data,omitempty"`
	Tags  map[string]string `cbor:"tags,omitempty"`
	When  time.Time         `cbor:"when,omitzero"`
	Inner struct {
		X float64 `cbor:"x"`
	} `cbor:"inner" service:"optional"`
	Hosts []fuzzNode `cbor:"hosts,omitempty"`
	Tree  *fuzzNode  `cbor:"tree,omitempty"`
}

type fuzzNode struct {
	Label string    `cbor:"label"`
	Next  *fuzzNode `cbor:"next,omitempty"`
}

// FuzzArgDecode feeds arbitrary bytes to the strict argument decoder: it
// must never panic, must fail with an *ArgError or succeed, and a success
// must hold every required field and round-trip.
func FuzzArgDecode(f *testing.F) {
	spec := specOf(reflect.TypeFor[fuzzReq]())
	for _, v := range []any{
		map[string]any{"name": "a", "n": 1},
		map[string]any{"name": "a", "n": 1, "data": []byte{1}, "tags": map[string]string{"k": "v"}},
		map[string]any{"name": "a"},
		map[string]any{"name": 1, "n": "x"},
		map[string]any{"name": "a", "n": 1, "extra": true},
		map[string]any{"name": "a", "n": 1, "inner": map[string]any{"x": 1.5}, "hosts": []any{map[string]any{"label": "h"}}},
		map[string]any{"name": "a", "n": 1, "tree": map[string]any{"label": "r", "next": map[string]any{"label": "s", "next": nil}}},
		map[string]any{"name": "a", "n": 1, "tree": map[string]any{"label": "r", "next": map[string]any{"lbl": "s"}}},
		[]int{1, 2},
		"text",
	} {
		b, _ := cbor.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte{0xa2, 0x64, 'n', 'a', 'm', 'e', 0x61, 'a', 0x64, 'n', 'a', 'm', 'e', 0x61, 'b'}) // duplicate key
	f.Fuzz(func(t *testing.T, raw []byte) {
		var r fuzzReq
		ae := spec.decode(raw, &r)
		if ae != nil {
			if ae.Error() == "" {
				t.Fatal("empty error message")
			}
			var target *ArgError
			if !errors.As(ae, &target) {
				t.Fatal("not an *ArgError")
			}
			return
		}
		var keys map[string]cbor.RawMessage
		if err := looseDec.Unmarshal(raw, &keys); err != nil && len(raw) > 0 {
			t.Fatalf("accepted %x that is not a map: %v", raw, err)
		}
		if len(raw) > 0 {
			for _, k := range []string{"name", "n"} {
				if _, ok := keys[k]; !ok {
					t.Fatalf("accepted %x without required %q", raw, k)
				}
			}
		}
		b, err := wireEnc.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var again fuzzReq
		if ae := spec.decode(b, &again); ae != nil {
			t.Fatalf("re-encoded request rejected: %v", ae)
		}
	})
}

// FuzzServiceRequest feeds arbitrary message bodies to the pool's envelope
// and dispatch path: every body gets exactly one answer, never a panic.
func FuzzServiceRequest(f *testing.F) {
	b, _ := cbor.Marshal(request{Service: "test.Calc", Method: "add", Args: mustCBOR(map[string]any{"a": 1, "b": 2})})
	f.Add(b)
	b, _ = cbor.Marshal(request{Service: "test.Calc", Method: "nope"})
	f.Add(b)
	f.Add([]byte{0xff})
	p := newTestPool(f, Config{})
	c := &calc{}
	if err := p.Add(newCalc(c, AllowAny)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req request
		if err := looseDec.Unmarshal(body, &req); err != nil {
			return // the mesh handler answers CodeBadRequest; nothing to dispatch
		}
		ch := make(chan result, 2)
		p.dispatch(inbound{service: req.Service, method: req.Method, args: req.Args, src: 5, auth: 5,
			reply: func(body []byte, e *Error) { ch <- result{body, e} }})
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatal("no answer")
		}
	})
}

func mustCBOR(v any) []byte {
	b, err := cbor.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
