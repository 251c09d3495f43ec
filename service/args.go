package service

import (
	"encoding"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Request types.
//
// A method's request is a Go struct decoded strictly from the call's CBOR
// map: every key must name a field (the field's `cbor` tag name, else its
// `json` tag name, else its Go name), exactly, case-sensitively; every field
// is required unless its tag has omitempty or omitzero, or it carries the
// tag `service:"optional"`; and every value must decode into its field's
// type (CBOR null only into a pointer, slice, map or interface field, as its
// nil, or into a time.Time, as the zero time). The same rules hold inside
// fields that are structs, pointers to structs, or arrays, slices and
// string-keyed maps of them, except in types the decoder decodes by rules of
// their own (an UnmarshalCBOR method, time.Time, big.Int, embedded structs,
// toarray structs), which it alone checks. Anything else is an [*ArgError]
// that names the field by its path ("opts.mode", "hosts[2].name",
// `env["x"].value`), and the method does not run.

var (
	strictDec cbor.DecMode // arguments: strict
	looseDec  cbor.DecMode // replies and envelopes
	canonEnc  cbor.EncMode // dedup keys
	wireEnc   cbor.EncMode // arguments and results
)

func init() {
	var err error
	strictDec, err = cbor.DecOptions{
		DupMapKey:          cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors:  cbor.ExtraDecErrorUnknownField,
		FieldNameMatching:  cbor.FieldNameMatchingCaseSensitive,
		MaxArrayElements:   1 << 22,
		MaxMapPairs:        1 << 20,
		DefaultMapType:     reflect.TypeOf(map[string]any(nil)),
		UTF8:               cbor.UTF8RejectInvalid,
		IndefLength:        cbor.IndefLengthAllowed,
		TimeTagToAny:       cbor.TimeTagToTime,
		ByteStringToString: cbor.ByteStringToStringForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	looseDec, err = cbor.DecOptions{
		MaxArrayElements: 1 << 22,
		MaxMapPairs:      1 << 20,
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
	}.DecMode()
	if err != nil {
		panic(err)
	}
	canonEnc, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	wireEnc, err = cbor.EncOptions{Time: cbor.TimeRFC3339Nano}.EncMode()
	if err != nil {
		panic(err)
	}
}

type fieldSpec struct {
	wire     string       // key on the wire
	typ      reflect.Type // the Go type, named in messages
	required bool
	nullable bool   // CBOR null is the field's nil (pointer, slice, map, interface)
	shape    *shape // what is checked inside the value; nil: the decoder alone
}

// A shape is what check looks at inside a value: the keys of a struct's
// map, or the elements of an array or map that hold such structs.
type shape struct {
	spec     *argSpec // a struct (or pointer to one)
	elem     *shape   // else, each element of an array (seq) or map value
	seq      bool
	arrayLen int  // with seq, for a Go array: the elements expected
	nullElem bool // an element may be null (its type has a nil)
}

// The one-byte CBOR encodings of null and undefined.
const (
	cborNull      = 0xf6
	cborUndefined = 0xf7
)

// untag returns the CBOR item v without the heads of the tags around it
// (nil if they are malformed).
func untag(v []byte) []byte {
	for len(v) > 0 && v[0]>>5 == 6 {
		switch n := v[0] & 0x1f; {
		case n < 24:
			v = v[1:]
		case n <= 27:
			skip := 1 + 1<<(n-24)
			if len(v) < skip {
				return nil
			}
			v = v[skip:]
		default:
			return nil
		}
	}
	return v
}

// isNull reports whether the CBOR item v is null or undefined, under any
// tags.
func isNull(v []byte) bool {
	v = untag(v)
	return len(v) == 1 && (v[0] == cborNull || v[0] == cborUndefined)
}

// isBytes reports whether the CBOR item v is a byte string, under any tags.
func isBytes(v []byte) bool {
	v = untag(v)
	return len(v) > 0 && v[0]>>5 == 2
}

// rawRef is a CBOR item as a view into the bytes being checked; unlike
// cbor.RawMessage it does not copy them, so checking a deep request costs
// no memory per level.
type rawRef []byte

func (r *rawRef) UnmarshalCBOR(b []byte) error { *r = b; return nil }

// argSpec is the checked shape of a request struct type.
type argSpec struct {
	typ    reflect.Type
	fields []fieldSpec
	byWire map[string]int
	opaque string // why the rules do not fit the struct, which the decoder alone checks; "" if they do
	binary bool   // decodes from a byte string too (UnmarshalBinary)
}

// specOf builds the spec of struct type t. It panics if t is not a struct:
// Expose is called at init time, and a non-struct request is a programming
// error.
func specOf(t reflect.Type) *argSpec {
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("service: request type %v is not a struct", t))
	}
	s := buildSpec(t, map[reflect.Type]*argSpec{})
	if s.opaque != "" {
		panic(fmt.Sprintf("service: request type %v: %s", t, s.opaque))
	}
	return s
}

// buildSpec builds the spec of struct type t, and of the types its fields
// hold, which seen keeps once each (a type may hold itself). A struct that
// the request rules do not fit is opaque: the decoder alone checks it, and
// at the top it is refused.
func buildSpec(t reflect.Type, seen map[reflect.Type]*argSpec) *argSpec {
	if s := seen[t]; s != nil {
		return s
	}
	s := &argSpec{typ: t, byWire: map[string]int{}, binary: reflect.PointerTo(t).Implements(binaryUnmarshaler)}
	seen[t] = s
	fields, problem := structFields(t)
	if problem != "" {
		s.opaque = problem
		return s
	}
	for _, f := range fields {
		s.byWire[f.wire] = len(s.fields)
		f.shape = buildShape(f.typ, seen, nil)
		s.fields = append(s.fields, f)
	}
	return s
}

// structFields lists the fields of struct type t as the decoder matches
// them, or says why the request rules do not fit t.
func structFields(t reflect.Type) ([]fieldSpec, string) {
	var fields []fieldSpec
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("cbor")
		if tag == "" {
			tag = f.Tag.Get("json") // as the decoder does
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Name == "_" {
			for o := range strings.SplitSeq(opts, ",") {
				if o == "toarray" || o == "toindefarray" {
					return nil, o + " is not supported"
				}
			}
			continue
		}
		if tag == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			return nil, fmt.Sprintf("embedded field %s is not supported; name it", f.Name)
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := f.Tag.Get("service") == "optional"
		for o := range strings.SplitSeq(opts, ",") {
			if o == "omitempty" || o == "omitzero" {
				optional = true
			}
			if o == "keyasint" {
				return nil, "keyasint is not supported"
			}
		}
		if names[name] {
			return nil, fmt.Sprintf("two fields named %q", name)
		}
		names[name] = true
		fields = append(fields, fieldSpec{wire: name, typ: f.Type,
			required: !optional, nullable: hasNil(f.Type)})
	}
	return fields, ""
}

// hasNil reports whether CBOR null decodes to a value of t: its nil, or
// for time.Time, the zero time, which the encoder writes as null.
func hasNil(t reflect.Type) bool {
	if t == timeType {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}

// buildShape returns what check looks at inside a value of type t: nil for
// a type that holds no struct to check, or that decodes itself. via holds
// the pointer, slice, array and map types on the way from the nearest
// struct: one that holds itself without a struct between (type T
// map[string]T) has nothing to check.
func buildShape(t reflect.Type, seen map[reflect.Type]*argSpec, via map[reflect.Type]bool) *shape {
	if decodesItself(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		if via[t] {
			return nil
		}
		if via == nil {
			via = map[reflect.Type]bool{}
		}
		via[t] = true
	}
	switch t.Kind() {
	case reflect.Pointer:
		return buildShape(t.Elem(), seen, via)
	case reflect.Struct:
		if s := buildSpec(t, seen); s.opaque == "" {
			return &shape{spec: s}
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // bytes
		}
		if e := buildShape(t.Elem(), seen, via); e != nil {
			sh := &shape{elem: e, seq: true, nullElem: hasNil(t.Elem())}
			if t.Kind() == reflect.Array {
				sh.arrayLen = t.Len()
			}
			return sh
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil
		}
		if e := buildShape(t.Elem(), seen, via); e != nil {
			return &shape{elem: e, nullElem: hasNil(t.Elem())}
		}
	}
	return nil
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	cborUnmarshaler   = reflect.TypeFor[cbor.Unmarshaler]()
	binaryUnmarshaler = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	selfDecoding      = map[reflect.Type]bool{
		timeType:                           true,
		reflect.TypeFor[big.Int]():         true,
		reflect.TypeFor[big.Float]():       true,
		reflect.TypeFor[cbor.Tag]():        true,
		reflect.TypeFor[cbor.RawTag]():     true,
		reflect.TypeFor[cbor.RawMessage](): true,
	}
)

// decodesItself reports whether the decoder decodes t by its own rules
// rather than as a map of fields: an UnmarshalCBOR method, or a type it
// knows (time.Time, big.Int, tags).
func decodesItself(t reflect.Type) bool {
	return selfDecoding[t] || t.Implements(cborUnmarshaler) || reflect.PointerTo(t).Implements(cborUnmarshaler)
}

// decode checks raw against the spec and decodes it into a new value of the
// spec's type, returned as a pointer.
func (s *argSpec) decode(raw []byte, into any) *ArgError {
	if len(raw) == 0 {
		raw = []byte{0xa0} // no arguments: an empty map
	}
	if ae := s.check(raw, "", false); ae != nil {
		return ae
	}
	if err := strictDec.Unmarshal(raw, into); err != nil {
		var te *cbor.UnmarshalTypeError
		if errors.As(err, &te) {
			// Find the field, however deep, whose value does not decode.
			if ae := s.check(raw, "", true); ae != nil {
				return ae
			}
			return &ArgError{Problem: ArgWrongType, Field: strings.TrimPrefix(te.StructFieldName, s.typ.String()+"."), Want: te.GoType, Got: te.CBORType}
		}
		var ue *cbor.UnknownFieldError
		if errors.As(err, &ue) { // in a struct that check leaves to the decoder
			return &ArgError{Problem: ArgUnknown, Field: fmt.Sprintf("(a field of a nested map, element %d)", ue.Index), Want: s.typ.String()}
		}
		return &ArgError{Problem: ArgMalformed, Want: s.typ.String(), Got: err.Error()}
	}
	return nil
}

// keysOf decodes raw, the map of a struct of spec s at path, or says what
// is wrong with it.
func (s *argSpec) keysOf(raw []byte, path string) (map[string]rawRef, *ArgError) {
	var keys map[string]rawRef
	if err := strictDec.Unmarshal(raw, &keys); err != nil {
		got := err.Error()
		var te *cbor.UnmarshalTypeError
		if errors.As(err, &te) {
			got = "CBOR " + te.CBORType
		}
		if path == "" {
			return nil, &ArgError{Problem: ArgMalformed, Want: "a map of named arguments (" + s.typ.String() + ")", Got: got}
		}
		return nil, &ArgError{Problem: ArgWrongType, Field: path, Want: s.typ.String(), Got: got}
	}
	return keys, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// check checks the keys of the map raw against the spec, and those of the
// nested structs' maps, naming a field by its path from the request
// ("opts.mode", "hosts[2].name"); path is that of raw, "" at the top. With
// leaves set, it also decodes each value that has no shape into its field's
// type: on the error path of a request the decoder refused, that finds the
// field at any depth, where the decoder names only the outermost. The
// decoder's nesting limit, applied before, bounds the recursion.
func (s *argSpec) check(raw []byte, path string, leaves bool) *ArgError {
	if s.binary && path != "" && isBytes(raw) {
		return nil // for UnmarshalBinary
	}
	keys, ae := s.keysOf(raw, path)
	if ae != nil {
		return ae
	}
	for k := range keys {
		if _, ok := s.byWire[k]; !ok {
			return &ArgError{Problem: ArgUnknown, Field: join(path, k), Want: s.typ.String()}
		}
	}
	for i := range s.fields {
		f := &s.fields[i]
		v, ok := keys[f.wire]
		if !ok {
			if f.required {
				return &ArgError{Problem: ArgMissing, Field: join(path, f.wire), Want: f.typ.String()}
			}
			continue
		}
		if isNull(v) {
			// The decoder leaves a field untouched for null (and
			// undefined), so a null would pass as the zero value: only
			// fields that have a nil take it.
			if !f.nullable {
				return &ArgError{Problem: ArgWrongType, Field: join(path, f.wire), Want: f.typ.String(), Got: "null"}
			}
			continue
		}
		at := join(path, f.wire)
		if f.shape != nil {
			if ae := f.shape.check(v, at, leaves); ae != nil {
				return ae
			}
		} else if leaves {
			if err := strictDec.Unmarshal(v, reflect.New(f.typ).Interface()); err != nil {
				got := err.Error()
				var te *cbor.UnmarshalTypeError
				if errors.As(err, &te) {
					got = te.CBORType
				}
				return &ArgError{Problem: ArgWrongType, Field: at, Want: f.typ.String(), Got: got}
			}
		}
	}
	return nil
}

// check checks the value v, not null, at path against the shape.
func (sh *shape) check(v []byte, path string, leaves bool) *ArgError {
	if sh.spec != nil {
		return sh.spec.check(v, path, leaves)
	}
	return sh.elems(v, path, func(e []byte, at string) *ArgError {
		if isNull(e) {
			if !sh.nullElem {
				return &ArgError{Problem: ArgWrongType, Field: at, Want: elemWant(sh.elem), Got: "null"}
			}
			return nil
		}
		return sh.elem.check(e, at, leaves)
	})
}

// elems calls fn on each element of the array or map v with its path,
// until one fails. A value of another kind is left to the decoder; a Go
// array given fewer elements is missing the next one.
func (sh *shape) elems(v []byte, path string, fn func(e []byte, at string) *ArgError) *ArgError {
	if sh.seq {
		var elems []rawRef
		if strictDec.Unmarshal(v, &elems) != nil {
			return nil
		}
		for j, e := range elems {
			if ae := fn(e, fmt.Sprintf("%s[%d]", path, j)); ae != nil {
				return ae
			}
		}
		if len(elems) < sh.arrayLen {
			return &ArgError{Problem: ArgMissing, Field: fmt.Sprintf("%s[%d]", path, len(elems)), Want: elemWant(sh.elem)}
		}
		return nil
	}
	var m map[string]rawRef
	if strictDec.Unmarshal(v, &m) != nil {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if ae := fn(m[k], fmt.Sprintf("%s[%q]", path, k)); ae != nil {
			return ae
		}
	}
	return nil
}

func elemWant(sh *shape) string {
	if sh.spec != nil {
		return sh.spec.typ.String()
	}
	return "a list or map of structs"
}
