package mesh

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	// An element costs one byte on the wire and up to 16 in memory (an
	// interface): 4M elements bound a decoded body to 64 MiB, the default
	// maximum message size, where 16M allowed 256 MiB. Package service
	// uses the same bound.
	decMode, err = cbor.DecOptions{
		MaxNestedLevels:  64,
		MaxArrayElements: 1 << 22,
		MaxMapPairs:      1 << 22,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Encode returns the CBOR encoding of v, the one body encoding mesh and
// package service use.
func Encode(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("mesh: encode %T: %w", v, err)
	}
	return b, nil
}

// Decode decodes the CBOR in b into v (a pointer). Unknown fields are
// ignored; callers that need strict checks decode into cbor.RawMessage or
// a map first.
func Decode(b []byte, v any) error {
	if err := decMode.Unmarshal(b, v); err != nil {
		return fmt.Errorf("mesh: decode into %T: %w", v, err)
	}
	return nil
}
