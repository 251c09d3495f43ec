package service_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/muster-sh/muster/mesh"
	"github.com/muster-sh/muster/service"
)

// A counter service: its state lives in the context that activated it.
type counter struct {
	mu sync.Mutex
	n  int
}

// AddReq is the request of "add": both fields are required.
type AddReq struct {
	By   int    `cbor:"by"`
	Note string `cbor:"note"`
}

func (c *counter) add(_ context.Context, call *service.CallInfo, r AddReq) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += r.By
	return c.n, nil
}

func (c *counter) reset(context.Context, *service.CallInfo, struct{}) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = 0
	return 0, nil
}

func init() {
	// Registered in both parent and child (they run the same binary), so a
	// parent's first call activates the service in the child.
	service.Register("example.Counter", func(p *service.Pool) (*service.Service, error) {
		c := &counter{}
		s := service.New("example.Counter").SetInvoker(service.Serialized())
		service.Expose(s, "add", c.add, service.AllowAny)
		service.Expose(s, "reset", c.reset, service.AllowParents)
		return s, nil
	})
}

// A parent starts a Local child (this binary, re-executed as an agent) and
// calls an exposed method of a service there; the service is activated by
// the first call, because the caller is the child's parent.
func Example() {
	ctx := context.Background()
	router, err := mesh.NewRouter(mesh.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer router.Close(ctx)
	child, err := router.Local(ctx, mesh.LocalOptions{Name: "worker"})
	if err != nil {
		fmt.Println(err)
		return
	}

	var n int
	for _, by := range []int{1, 2, 3} {
		if err := service.Call(ctx, child, "example.Counter", "add", AddReq{By: by, Note: "hi"}, &n); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("count:", n)
	}

	// Arguments are checked before the method runs.
	err = service.Call(ctx, child, "example.Counter", "add", map[string]any{"by": "four", "note": ""}, &n)
	var argErr *service.ArgError
	fmt.Println(errors.As(err, &argErr), argErr.Field)
	fmt.Println(err)

	// Only exposed methods exist.
	err = service.Call(ctx, child, "example.Counter", "secret", nil, nil)
	fmt.Println(errors.Is(err, service.ErrNoSuchMethod))

	// Output:
	// count: 1
	// count: 3
	// count: 6
	// true by
	// method "add" of service "example.Counter": argument "by" type incorrect: got UTF-8 text string, expected int
	// true
}

// A typed reference to a method saves spelling its names at every call.
func ExampleRef() {
	ctx := context.Background()
	router, _ := mesh.NewRouter(mesh.DefaultConfig())
	defer router.Close(ctx)
	pool, _ := service.NewPool(router, service.Config{})
	defer pool.Close(ctx)
	if _, err := pool.Activate("example.Counter"); err != nil {
		fmt.Println(err)
		return
	}
	add := service.Ref[AddReq, int]{Service: "example.Counter", Method: "add"}
	// The root calls its own pool through the mesh.
	n, err := add.Call(ctx, router.Myself(), AddReq{By: 5, Note: "self"})
	fmt.Println(n, err)
	// Output: 5 <nil>
}

// A parent registers a file, and a child fetches it into a local file,
// which appears only once complete.
func ExampleFetchFile() {
	ctx := context.Background()
	router, _ := mesh.NewRouter(mesh.DefaultConfig())
	defer router.Close(ctx)
	pool, _ := service.NewPool(router, service.Config{})
	defer pool.Close(ctx)
	files := service.NewFileService(pool, service.FileServiceOptions{})
	_ = pool.Add(files.Service())
	if err := files.Register("/etc/hostname"); err != nil {
		fmt.Println(err)
		return
	}
	// In a child, with parent = the *mesh.Context of its parent:
	//   meta, err := service.FetchFile(ctx, parent, "/etc/hostname", "/tmp/hostname")
	// Here the root fetches from itself; an unregistered path is refused.
	_, err := service.FetchFile(ctx, router.Myself(), "/etc/passwd", "/tmp/never-written")
	fmt.Println(errors.Is(err, service.ErrRefused))
	// Output: true
}
