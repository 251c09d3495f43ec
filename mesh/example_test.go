package mesh_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/muster-sh/muster/mesh"
)

// Functions are registered in the binary, so parent and children (the same
// binary) both know them.
func init() {
	mesh.Register("example.upper", func(ctx context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})
}

// A parent starts a child on this machine (this binary again, as an agent:
// the program calls mesh.MaybeAgent first in main, or in TestMain for a
// test binary) and calls a function in it.
func Example() {
	r, err := mesh.NewRouter(mesh.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer r.Close(context.Background())

	ctx := context.Background()
	child, err := r.Local(ctx, mesh.LocalOptions{Name: "worker"})
	if err != nil {
		panic(err)
	}
	var out string
	if err := child.Call(ctx, "example.upper", "hello from the parent", &out); err != nil {
		panic(err)
	}
	fmt.Println(out)
	fmt.Println(child.ID() != r.ID())
	// Output:
	// HELLO FROM THE PARENT
	// true
}
