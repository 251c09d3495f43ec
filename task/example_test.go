package task_test

import (
	"context"
	"fmt"
	"time"

	"github.com/muster-sh/muster/nodeset"
	"github.com/muster-sh/muster/task"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/exec"
)

// printer prints each node's exit code as it ends.
type printer struct{ task.BaseHandler }

func (printer) OnHup(w *task.Worker, node string, rc int) { fmt.Println(node, "exited", rc) }

func Example() {
	// The exec transport stands in for ssh: each "node" is a local process.
	t := task.New(task.WithDistant(exec.Transport{}), task.WithFanout(1))
	nodes := nodeset.MustParse("n[1-3]")
	_, err := t.Shell("echo hello from %h", task.OnNodeSet(nodes), task.WithHandler(printer{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := t.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for g := range t.Buffers() {
		fmt.Printf("%s: %s", g.NodeSet(), g.Bytes())
	}
	rc, _ := t.MaxRetcode()
	fmt.Println("max rc", rc)
	// Output:
	// n1 exited 0
	// n2 exited 0
	// n3 exited 0
	// n1: hello from n1
	// n2: hello from n2
	// n3: hello from n3
	// max rc 0
}

func ExampleTask_Timer() {
	t := task.New()
	n := 0
	t.Timer(0, task.TimerFunc(func(tm *task.Timer) {
		n++
		if n == 3 {
			tm.Invalidate()
		}
	}), task.Every(time.Millisecond))
	t.Run(context.Background())
	fmt.Println("fired", n, "times")
	// Output: fired 3 times
}

func ExampleTask_Run_timeout() {
	t := task.New()
	t.Shell("sleep 60")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := t.Run(ctx)
	fmt.Println(err)
	// Output: task: task timed out
}

// An explicit worker: make a driver from a transport and schedule it.
func ExampleTask_Schedule() {
	t := task.New()
	d, err := exec.Transport{}.Command(worker.Command{Line: "echo rank %n of %h"})
	if err != nil {
		fmt.Println(err)
		return
	}
	w := task.NewWorker(d, task.OnNodes("alpha", "beta"))
	if err := t.Schedule(w); err != nil {
		fmt.Println(err)
		return
	}
	t.Run(context.Background())
	fmt.Printf("%s%s", w.NodeBuffer("alpha"), w.NodeBuffer("beta"))
	// Output:
	// rank 0 of alpha
	// rank 1 of beta
}
