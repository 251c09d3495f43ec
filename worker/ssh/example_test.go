package sshworker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	sshworker "github.com/muster-sh/muster/worker/ssh"
)

// Parse the ssh options a clush user wrote in clush.conf's ssh_options.
func ExampleParseOptionString() {
	opts, err := sshworker.ParseOptionString(`-F ~/.ssh/cluster_config -l admin -oStrictHostKeyChecking=accept-new -J gw`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(opts.ConfigFile, opts.User, opts.ProxyJump, opts.Settings[0].Keyword, opts.Settings[0].Value)

	// An option the native client cannot honour names itself.
	_, err = sshworker.ParseOptionString("-o ForwardAgent=yes")
	fmt.Println(errors.Is(err, sshworker.ErrUnsupported))
	// Output:
	// ~/.ssh/cluster_config admin gw StrictHostKeyChecking accept-new
	// true
}

// Run a command on a node named in ~/.ssh/config and tell a connection
// failure from the command's own exit code.
func ExampleClient_Run() {
	c, err := sshworker.New(sshworker.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	var out bytes.Buffer
	st, err := c.Run(context.Background(), "node1", "uname -r", sshworker.RunOptions{Stdout: &out, Stderr: os.Stderr})
	var ce *sshworker.ConnectError
	switch {
	case errors.As(err, &ce):
		fmt.Printf("%s unreachable (%s): %v\n", ce.Host, ce.Kind, err)
	case err != nil:
		fmt.Println(err)
	case st.Code != 0:
		fmt.Println("exit", st.Code, st.Signal)
	default:
		fmt.Print(out.String())
	}
}

// Copy a file to a node, then fetch it back as dest/basename.node.
func ExampleClient_Rcopy() {
	c, err := sshworker.New(sshworker.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Copy(ctx, "node1", "/etc/hosts", "/tmp/", sshworker.CopyOptions{Preserve: true}); err != nil {
		fmt.Println(err)
		return
	}
	local, err := c.Rcopy(ctx, "node1", "/tmp/hosts", os.TempDir(), sshworker.CopyOptions{})
	fmt.Println(local, err) // /tmp/hosts.node1
}
