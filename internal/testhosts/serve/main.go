// Command serve starts loopback test hosts (real sshd daemons, see package
// testhosts) for demonstrations and manual testing, prints the ssh_config
// that reaches them, and stops them when it receives SIGINT or SIGTERM.
//
//	go run ./internal/testhosts/serve -n 4
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/muster-sh/muster/internal/testhosts"
)

func main() {
	n := flag.Int("n", 4, "number of hosts")
	first := flag.Int("first", 211, "last octet of the first host's 127.0.0.x address")
	extra := flag.String("extra", "", "lines appended to every sshd_config (\\n separates lines)")
	sftpDir := flag.Bool("sftp-host-dir", false, "start SFTP sessions in each host's own directory")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	c, err := testhosts.Start(ctx, *n, testhosts.Options{FirstAddr: *first,
		ExtraConfig: strings.ReplaceAll(*extra, `\n`, "\n"), SFTPInHostDir: *sftpDir})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	defer c.Stop()
	fmt.Printf("ssh_config=%s\nnodes=%s\n", c.SSHConfig, strings.Join(c.Names(), ","))
	for _, h := range c.Hosts {
		fmt.Printf("dir %s %s\n", h.Name, h.Dir)
	}
	fmt.Println("ready")

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
