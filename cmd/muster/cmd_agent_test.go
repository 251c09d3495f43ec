package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-sh/muster/mesh"
)

// The muster binary is a mesh agent: started by a parent with the agent
// environment marker, and as "muster agent".
func TestAgentBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "muster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := mesh.NewRouter(mesh.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	for _, o := range []mesh.LocalOptions{
		{Name: "marker", Path: bin},
		{Name: "subcommand", Path: "/bin/sh", Args: []string{"-c", `unset ` + mesh.AgentEnv + `; exec "$0" agent`, bin}},
	} {
		c, err := r.Local(ctx, o)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		// the agent answers for itself: a handle it does not serve is refused
		// by its own router, from its own id
		err = c.Request(ctx, 4242, "x").Wait(ctx, nil)
		var ce *mesh.ChannelError
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, mesh.ReasonInvalidHandle) || !strings.Contains(ce.Reason, "context 1") && !strings.Contains(ce.Reason, "context 2") {
			t.Fatalf("%s: %v, want the agent's own invalid-handle answer", o.Name, err)
		}
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errOut := call("muster", "agent", "extra")
	if code != 2 || !strings.Contains(errOut, `"extra"`) {
		t.Fatalf("muster agent extra: %d %q", code, errOut)
	}
}
