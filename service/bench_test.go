package service

import (
	"context"
	"reflect"
	"testing"
)

// BenchmarkServiceCallLocal measures a sequential service call round trip
// from a parent to a Local child (Mitogen's call_service to a local()
// child: about 200-260 µs on the reference box).
func BenchmarkServiceCallLocal(b *testing.B) {
	r, _ := newRoot(b)
	child := localChild(b, r, "bench")
	ctx := context.Background()
	var resp AddResp
	if err := Call(ctx, child, "test.Activated", "add", AddReq{A: 1, B: 2}, &resp); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := Call(ctx, child, "test.Activated", "add", AddReq{A: 1, B: 2}, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServiceCallLocalPipelined measures calls in flight 256 at a time.
func BenchmarkServiceCallLocalPipelined(b *testing.B) {
	r, _ := newRoot(b)
	child := localChild(b, r, "bench")
	ctx := context.Background()
	if err := Call(ctx, child, "test.Activated", "add", AddReq{A: 1, B: 2}, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	pend := make([]*Pending, 0, 256)
	flush := func() {
		for _, p := range pend {
			if err := p.Wait(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
		pend = pend[:0]
	}
	for b.Loop() {
		pend = append(pend, CallAsync(ctx, child, "test.Activated", "add", AddReq{A: 1, B: 2}))
		if len(pend) == cap(pend) {
			flush()
		}
	}
	flush()
}

// BenchmarkArgDecode: checking and decoding a flat request, and one with
// nested structs.
func BenchmarkArgDecode(b *testing.B) {
	for _, bc := range []struct {
		name string
		typ  reflect.Type
		args any
	}{
		{"flat", reflect.TypeFor[AddReq](), AddReq{A: 1, B: 2, Note: "n"}},
		{"nested", reflect.TypeFor[nestedReq](), nestedReq{Opts: nestedHost{Name: "a"}, Hosts: []nestedHost{{Name: "b"}, {Name: "c", Port: 2}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			spec, raw := specOf(bc.typ), mustCBOR(bc.args)
			b.ReportAllocs()
			for b.Loop() {
				if ae := spec.decode(raw, reflect.New(bc.typ).Interface()); ae != nil {
					b.Fatal(ae)
				}
			}
		})
	}
}
