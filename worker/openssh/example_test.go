package openssh_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/muster-sh/muster/task"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/openssh"
)

// The command line ssh gets for one node, with clush-style options.
func ExampleTransport_SSHArgv() {
	tr, err := openssh.New(openssh.Config{
		User:           "admin",
		Options:        `-F ~/cluster/ssh_config -oProxyJump=gw`,
		NoConnectProbe: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", tr.SSHArgv("node7", "uptime", 10*time.Second)[3:])
	// Output:
	// ["-oProxyJump=gw" "-oForwardAgent=no" "-oForwardX11=no" "-l" "admin" "-oConnectTimeout=10" "-oBatchMode=yes" "node7" "uptime"]
}

// The scp command line of a reverse copy: each node's file lands in the
// local directory as <base>.<node>.
func ExampleTransport_SCPArgv() {
	tr, _ := openssh.New(openssh.Config{})
	fmt.Printf("%q\n", tr.SCPArgv(worker.Copy{Source: "/var/log/messages", Dest: "/tmp/logs", Reverse: true}, false, "node7", 0))
	// Output:
	// ["scp" "-r" "[node7]:/var/log/messages" "/tmp/logs/messages.node7"]
}

// Running a command on nodes through the task engine, telling nodes that
// could not be reached from commands that failed.
func Example_task() {
	tr, err := openssh.New(openssh.Config{Options: "-F /etc/muster/ssh_config"})
	if err != nil {
		panic(err)
	}
	tk := task.New(task.WithDistant(tr))
	w, err := tk.Shell("uname -r", task.OnNodes("node1", "node2"))
	if err != nil {
		panic(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		panic(err)
	}
	for _, n := range w.Nodes() {
		var ce *openssh.ConnError
		if errors.As(w.NodeErr(n), &ce) {
			fmt.Printf("%s: unreachable (%s)\n", n, ce.Kind)
			continue
		}
		rc, _ := w.NodeRetcode(n)
		fmt.Printf("%s: exit %d: %s", n, rc, w.NodeBuffer(n))
	}
}
