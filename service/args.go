package service

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strings"

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
// nil). The same rules hold inside fields that are structs, pointers to
// structs, or slices and arrays of them, except structs that decode
// themselves (time.Time, big.Int, an UnmarshalCBOR or UnmarshalText
// method). Anything else is an [*ArgError] that names the field by its path
// ("opts.mode", "hosts[2].name"), and the method does not run.

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
	wire     string // key on the wire
	goName   string
	want     string // the Go type, for messages
	required bool
	nullable bool // CBOR null is the field's nil (pointer, slice, map, interface)
	// sub is the spec of a field that is a struct (or a pointer to one),
	// or with each set, a slice or array of them; nil for other types,
	// which the decoder alone checks.
	sub      *argSpec
	each     bool
	nullElem bool // with each: an element may be null (a pointer)
}

// The one-byte CBOR encodings of null and undefined.
const (
	cborNull      = 0xf6
	cborUndefined = 0xf7
)

func isNull(v []byte) bool { return len(v) == 1 && (v[0] == cborNull || v[0] == cborUndefined) }

// argSpec is the checked shape of a request struct type.
type argSpec struct {
	typ    reflect.Type
	fields []fieldSpec
	byWire map[string]int
}

// specOf builds the spec of struct type t. It panics if t is not a struct:
// Expose is called at init time, and a non-struct request is a programming
// error.
func specOf(t reflect.Type) *argSpec {
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("service: request type %v is not a struct", t))
	}
	s, problem := buildSpec(t, map[reflect.Type]*argSpec{})
	if problem != "" {
		panic(fmt.Sprintf("service: request type %v: %s", t, problem))
	}
	return s
}

// buildSpec builds the spec of struct type t, and of the struct types its
// fields hold, which seen keeps once each (a type may hold itself). A
// nested struct that the request rules do not fit (embedded fields,
// keyasint, toarray) is left to the decoder; at the top, that is a
// problem, returned.
func buildSpec(t reflect.Type, seen map[reflect.Type]*argSpec) (*argSpec, string) {
	s := &argSpec{typ: t, byWire: map[string]int{}}
	seen[t] = s
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("cbor")
		if !ok {
			tag = f.Tag.Get("json") // as the decoder does
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Name == "_" && strings.Contains(opts, "toarray") {
			return nil, "toarray is not supported"
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if f.Anonymous && tag == "" {
			return nil, fmt.Sprintf("embedded field %s is not supported; name it", f.Name)
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
		if _, dup := s.byWire[name]; dup {
			return nil, fmt.Sprintf("two fields named %q", name)
		}
		s.byWire[name] = len(s.fields)
		fs := fieldSpec{wire: name, goName: f.Name, want: f.Type.String(), required: !optional}
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			fs.nullable = true
		}
		ft := f.Type
		switch ft.Kind() {
		case reflect.Slice, reflect.Array:
			if ft.Elem().Kind() == reflect.Uint8 {
				break // bytes
			}
			fs.each, fs.nullElem = true, ft.Elem().Kind() == reflect.Pointer
			ft = ft.Elem()
		}
		if st := checkedStruct(ft); st != nil {
			if fs.sub = seen[st]; fs.sub == nil {
				if sub, problem := buildSpec(st, seen); problem == "" {
					fs.sub = sub
				} else {
					delete(seen, st)
				}
			}
		} else {
			fs.each = false
		}
		s.fields = append(s.fields, fs)
	}
	return s, ""
}

var (
	cborUnmarshaler   = reflect.TypeFor[cbor.Unmarshaler]()
	textUnmarshaler   = reflect.TypeFor[encoding.TextUnmarshaler]()
	binaryUnmarshaler = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	cborTag           = reflect.TypeFor[cbor.Tag]()
)

// checkedStruct returns the struct type that t is or points to, if its
// fields are checked as a request's are: not one that decodes itself
// (time.Time, big.Int, a type with its own UnmarshalCBOR, ...).
func checkedStruct(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == cborTag {
		return nil
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(cborUnmarshaler) || pt.Implements(textUnmarshaler) || pt.Implements(binaryUnmarshaler) {
		return nil
	}
	return t
}

// decode checks raw against the spec and decodes it into a new value of the
// spec's type, returned as a pointer.
func (s *argSpec) decode(raw []byte, into any) *ArgError {
	if len(raw) == 0 {
		raw = []byte{0xa0} // no arguments: an empty map
	}
	if ae := s.check(raw, ""); ae != nil {
		return ae
	}
	if err := strictDec.Unmarshal(raw, into); err != nil {
		var te *cbor.UnmarshalTypeError
		if errors.As(err, &te) {
			field, want := te.StructFieldName, te.GoType
			field = strings.TrimPrefix(field, s.typ.String()+".")
			top, _, _ := strings.Cut(field, ".")
			if i, ok := s.byWire[top]; ok && top == field {
				want = s.fields[i].want
			}
			return &ArgError{Problem: ArgWrongType, Field: field, Want: want, Got: te.CBORType}
		}
		var ue *cbor.UnknownFieldError
		if errors.As(err, &ue) { // in a struct that check leaves to the decoder
			return &ArgError{Problem: ArgUnknown, Field: fmt.Sprintf("(a field of a nested map, element %d)", ue.Index), Want: s.typ.String()}
		}
		return &ArgError{Problem: ArgMalformed, Want: s.typ.String(), Got: err.Error()}
	}
	return nil
}

// check checks the keys of the map raw against the spec, and those of the
// nested structs' maps, naming a field by its path from the request
// ("opts.mode", "hosts[2].name"); path is that of raw, "" at the top. The
// decoder's nesting limit, applied before, bounds the recursion.
func (s *argSpec) check(raw []byte, path string) *ArgError {
	var keys map[string]cbor.RawMessage
	if err := strictDec.Unmarshal(raw, &keys); err != nil {
		got := err.Error()
		var te *cbor.UnmarshalTypeError
		if errors.As(err, &te) {
			got = "CBOR " + te.CBORType
		}
		if path == "" {
			return &ArgError{Problem: ArgMalformed, Want: "a map of named arguments (" + s.typ.String() + ")", Got: got}
		}
		return &ArgError{Problem: ArgWrongType, Field: path, Want: s.typ.String(), Got: got}
	}
	prefix := path
	if prefix != "" {
		prefix += "."
	}
	for k := range keys {
		if _, ok := s.byWire[k]; !ok {
			return &ArgError{Problem: ArgUnknown, Field: prefix + k, Want: s.typ.String()}
		}
	}
	for i := range s.fields {
		f := &s.fields[i]
		v, ok := keys[f.wire]
		if !ok {
			if f.required {
				return &ArgError{Problem: ArgMissing, Field: prefix + f.wire, Want: f.want}
			}
			continue
		}
		if isNull(v) {
			// The decoder leaves a field untouched for null (and
			// undefined), so a null would pass as the zero value: only
			// fields that have a nil take it.
			if !f.nullable {
				return &ArgError{Problem: ArgWrongType, Field: prefix + f.wire, Want: f.want, Got: "null"}
			}
			continue
		}
		if f.sub == nil {
			continue
		}
		if !f.each {
			if ae := f.sub.check(v, prefix+f.wire); ae != nil {
				return ae
			}
			continue
		}
		var elems []cbor.RawMessage
		if strictDec.Unmarshal(v, &elems) != nil {
			continue // not an array: the decoder names the field
		}
		for j, e := range elems {
			at := fmt.Sprintf("%s%s[%d]", prefix, f.wire, j)
			if isNull(e) {
				if !f.nullElem {
					return &ArgError{Problem: ArgWrongType, Field: at, Want: f.sub.typ.String(), Got: "null"}
				}
				continue
			}
			if ae := f.sub.check(e, at); ae != nil {
				return ae
			}
		}
	}
	return nil
}
