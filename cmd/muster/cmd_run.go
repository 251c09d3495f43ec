package main

import (
	"github.com/muster-sh/muster/internal/cli/runcmd"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/openssh"
	"github.com/muster-sh/muster/worker/pdsh"
	"github.com/muster-sh/muster/worker/rsh"
	sshworker "github.com/muster-sh/muster/worker/ssh"
)

func init() {
	register("run", "run a command on a node set, like ClusterShell's clush", runcmd.Main)

	// -R ssh (clush's default): the ssh and scp programs, as ClusterShell's
	// ssh worker; "openssh" is another name for it.
	openSSH := func(s runcmd.Settings) (worker.Transport, error) {
		return openssh.New(openssh.Config{
			SSHPath: s.Conf["ssh_path"], SCPPath: s.Conf["scp_path"],
			User: s.User, Options: s.Options,
			SCPOptions: s.Conf["scp_options"], SCPUser: s.Conf["scp_user"],
		})
	}
	runcmd.Register("ssh", openSSH)
	runcmd.Register("openssh", openSSH)
	// -R native: muster's built-in ssh client (no ssh process per node).
	runcmd.Register("native", func(s runcmd.Settings) (worker.Transport, error) {
		opts, err := sshworker.ParseOptionString(s.Options)
		if err != nil {
			return nil, err
		}
		if s.User != "" {
			opts.User = s.User
		}
		return sshworker.NewTransport(opts)
	})
	runcmd.Register("rsh", func(s runcmd.Settings) (worker.Transport, error) {
		user := s.Conf["rsh_user"]
		if user == "" {
			user = s.User
		}
		return rsh.New(rsh.Config{
			RshPath: s.Conf["rsh_path"], RcpPath: s.Conf["rcp_path"], User: user,
			Options: s.Conf["rsh_options"], RcpOptions: s.Conf["rcp_options"],
		})
	})
	runcmd.Register("pdsh", func(s runcmd.Settings) (worker.Transport, error) {
		return pdsh.New(pdsh.Config{
			PdshPath: s.Conf["pdsh_path"], PdcpPath: s.Conf["pdcp_path"], RpdcpPath: s.Conf["rpdcp_path"],
			Fanout: s.Fanout, User: s.User,
			// -o / ssh_options reach the ssh that pdsh's ssh module runs.
			SSHOptions: s.Options,
		})
	})
}
