package async_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/muster-sh/muster/async"
	"github.com/muster-sh/muster/sched"
)

func newScheduler() *sched.Scheduler {
	s, err := sched.New(sched.Config{MaxWorkers: 4})
	if err != nil {
		panic(err)
	}
	return s
}

// Deploy a file to several servers in the background, reporting which
// server is being handled, and wait for the result.
func Example_deployFile() {
	s := newScheduler()
	defer s.Close(context.Background())

	deployFile := func(file string, servers ...string) func(context.Context, *async.Reporter) (int, error) {
		return func(ctx context.Context, r *async.Reporter) (int, error) {
			for i, server := range servers {
				if err := ctx.Err(); err != nil {
					return i, err
				}
				r.Report(float64(i)/float64(len(servers)), "copying "+file+" to "+server)
				// ... copy the file over ssh ...
			}
			r.Report(1, "done")
			return len(servers), nil
		}
	}

	h := async.Go(context.Background(), s,
		deployFile("/var/http/static/background.png", "host1.example.net", "host2.example.net"))
	n, err := h.Wait(context.Background())
	fmt.Println(n, err, h.Progress().Message, h.State())
	// Output: 2 <nil> done Closed
}

// Two computations run side by side and report their progress, which the
// caller reads while they run.
func Example_progress() {
	s := newScheduler()
	defer s.Close(context.Background())

	halfway := make(chan struct{}, 2)
	resume := make(chan struct{})
	expensiveComputation := func(lines []string) func(context.Context, *async.Reporter) (int, error) {
		return func(ctx context.Context, r *async.Reporter) (int, error) {
			total := 0
			for i, line := range lines {
				total += len(line)
				r.Set(float64(i+1) / float64(len(lines)))
				if i+1 == len(lines)/2 {
					halfway <- struct{}{} // let the example print a stable value
					<-resume
				}
			}
			return total, nil
		}
	}

	comp1 := async.Go(context.Background(), s, expensiveComputation(strings.Fields("a bb ccc dddd")))
	comp2 := async.Go(context.Background(), s, expensiveComputation(strings.Fields("x y z w v u")))
	<-halfway
	<-halfway
	if comp1.State() == async.Running && comp2.State() == async.Running {
		fmt.Printf("computation 1 at %.0f%%, computation 2 at %.0f%%\n",
			comp1.Progress().Value*100, comp2.Progress().Value*100)
	}
	close(resume)
	t1, _ := comp1.Wait(context.Background())
	t2, _ := comp2.Wait(context.Background())
	fmt.Println(t1, t2, comp1.Progress().Value, comp2.Progress().Value)
	// Output:
	// computation 1 at 50%, computation 2 at 50%
	// 10 6 1 1
}

// update_server with on_success, on_fail and on_end callbacks: services
// are restarted with the function's result when it succeeds, the admins
// are mailed the error when it fails, and temporary files are cleaned up
// in both cases.
func Example_updateServer() {
	s := newScheduler()
	defer s.Close(context.Background())

	networkUp := true
	updateServer := func(ctx context.Context, r *async.Reporter) ([]string, error) {
		if !networkUp {
			return nil, errors.New("network is down")
		}
		// ... update packages ...
		return []string{"nginx", "sshd"}, nil
	}
	restartServices := func(services []string) { fmt.Println("restarting", services) }
	mailAdmins := func(err error) { fmt.Println("mailing admins:", err) }
	cleanTemp := func() { fmt.Println("cleaning temporary files") }

	for _, up := range []bool{true, false} {
		networkUp = up
		h := async.Go(context.Background(), s, updateServer,
			async.OnSuccess(restartServices), async.OnFail(mailAdmins), async.OnEnd(cleanTemp))
		h.Wait(context.Background())
	}
	// Output:
	// restarting [nginx sshd]
	// cleaning temporary files
	// mailing admins: network is down
	// cleaning temporary files
}

// Background turns functions into ones that return at once: filterLogs
// runs on the given scheduler, and sendMail receives its own handle to
// report how many mails are left.
func ExampleBackground() {
	s := newScheduler()
	defer s.Close(context.Background())

	filterLogs := async.Background(func(ctx context.Context, dir string) (int, error) {
		// ... filter every log in dir ...
		return 3, nil
	}, async.On(s))

	sendMail := async.BackgroundWithHandle(func(ctx context.Context, h *async.Handle[struct{}], users []string) (struct{}, error) {
		count := len(users)
		for _, user := range users {
			count--
			h.SetProgress(float64(count), "mailed "+user)
		}
		return struct{}{}, nil
	}, async.On(s), async.Priority(sched.High), async.OnEnd(func() { fmt.Println("mails sent") }))

	mail := sendMail([]string{"ann", "bob"}) // returns immediately
	logs := filterLogs("/var/log/muster")    // returns immediately

	mail.Wait(context.Background())
	n, _ := logs.Wait(context.Background())
	fmt.Println(mail.Progress(), n)
	// Output:
	// mails sent
	// {0 mailed bob} 3
}

// Changes delivers the whole lifecycle, in order.
func ExampleHandle_Changes() {
	s := newScheduler()
	defer s.Close(context.Background())

	h := async.Go(context.Background(), s, func(ctx context.Context, r *async.Reporter) (int, error) {
		return 0, errors.New("no luck")
	})
	for st := range h.Changes() {
		fmt.Println(st)
	}
	// Output:
	// Created
	// Running
	// Failed
	// Finishing
	// Closed
}
