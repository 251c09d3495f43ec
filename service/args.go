package service

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// Request types.
//
// A method's request is a Go struct decoded strictly from the call's CBOR
// map: every key must name a field (the field's `cbor` tag name, or its Go
// name), exactly, case-sensitively; every field is required unless its
// `cbor` tag has omitempty or omitzero, or it carries the tag
// `service:"optional"`; and every value must decode into its field's type
// (CBOR null only into a pointer, slice, map or interface field, as its nil).
// Anything else is an [*ArgError] that names the field, and the method does
// not run.

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
}

// The one-byte CBOR encodings of null and undefined.
const (
	cborNull      = 0xf6
	cborUndefined = 0xf7
)

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
	s := &argSpec{typ: t, byWire: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("cbor")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if f.Anonymous && tag == "" {
			panic(fmt.Sprintf("service: request type %v: embedded field %s is not supported; name it", t, f.Name))
		}
		optional := f.Tag.Get("service") == "optional"
		for o := range strings.SplitSeq(opts, ",") {
			if o == "omitempty" || o == "omitzero" {
				optional = true
			}
			if o == "keyasint" {
				panic(fmt.Sprintf("service: request type %v: keyasint is not supported", t))
			}
		}
		if _, dup := s.byWire[name]; dup {
			panic(fmt.Sprintf("service: request type %v: two fields named %q", t, name))
		}
		s.byWire[name] = len(s.fields)
		var nullable bool
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			nullable = true
		}
		s.fields = append(s.fields, fieldSpec{wire: name, goName: f.Name, want: f.Type.String(), required: !optional, nullable: nullable})
	}
	return s
}

// decode checks raw against the spec and decodes it into a new value of the
// spec's type, returned as a pointer.
func (s *argSpec) decode(raw []byte, into any) *ArgError {
	if len(raw) == 0 {
		raw = []byte{0xa0} // no arguments: an empty map
	}
	var keys map[string]cbor.RawMessage
	if err := strictDec.Unmarshal(raw, &keys); err != nil {
		var te *cbor.UnmarshalTypeError
		if errors.As(err, &te) {
			return &ArgError{Problem: ArgMalformed, Want: "a map of named arguments (" + s.typ.String() + ")", Got: "CBOR " + te.CBORType}
		}
		return &ArgError{Problem: ArgMalformed, Want: "a map of named arguments (" + s.typ.String() + ")", Got: err.Error()}
	}
	for k := range keys {
		if _, ok := s.byWire[k]; !ok {
			return &ArgError{Problem: ArgUnknown, Field: k, Want: s.typ.String()}
		}
	}
	for _, f := range s.fields {
		v, ok := keys[f.wire]
		if !ok && f.required {
			return &ArgError{Problem: ArgMissing, Field: f.wire, Want: f.want}
		}
		// The decoder leaves a field untouched for null (and undefined),
		// so a null would pass as the zero value: only fields that have a
		// nil take it.
		if ok && !f.nullable && len(v) == 1 && (v[0] == cborNull || v[0] == cborUndefined) {
			return &ArgError{Problem: ArgWrongType, Field: f.wire, Want: f.want, Got: "null"}
		}
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
		if errors.As(err, &ue) {
			return &ArgError{Problem: ArgUnknown, Field: fmt.Sprintf("(nested map element %d)", ue.Index), Want: s.typ.String()}
		}
		return &ArgError{Problem: ArgMalformed, Want: s.typ.String(), Got: err.Error()}
	}
	return nil
}
