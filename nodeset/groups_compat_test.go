package nodeset

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// compatGroupsFiles is a configuration exercising every kind of source:
// upcalls over flat files (a grouped [up,up2] section, with reverse), a
// groups.conf.d part, YAML sources with lists, "all", cross-source and
// indexed groups, and a "local" source over $CFGDIR/groups.d/local.cfg
// that overrides the one of the stock /etc/clustershell/groups.conf, which
// both tools merge when it exists.
var compatGroupsFiles = map[string]string{
	"groups.conf": `# test configuration
[Main]
default: up
confdir: $CFGDIR/groups.conf.d
autodir: $CFGDIR/groups.d

[up,up2]
map: sed -n 's/^$GROUP: *//p' "$CFGDIR/$SOURCE.txt"
list: sed -n 's/^\([^:]*\):.*/\1/p' "$CFGDIR/$SOURCE.txt"
all: cat $CFGDIR/all.txt
reverse: grep -w -- "$NODE" $CFGDIR/$SOURCE.rev | cut -d: -f1
cache_time: 10

[local]
map: sed -n 's/^$GROUP:\(.*\)/\1/p' $CFGDIR/groups.d/local.cfg
all: sed -n 's/^all:\(.*\)/\1/p' $CFGDIR/groups.d/local.cfg
list: sed -n 's/^\([0-9A-Za-z_-]*\):.*/\1/p' $CFGDIR/groups.d/local.cfg
`,
	"up.txt":  "compute: cn[1-8]\ngpu: gn[1-2] cn[7-8]\nlogin: login1,login2\nrack1: cn[1-4]\nrack2: cn[5-8]\n",
	"up2.txt": "half: cn[1-4]\nother: @up:login\n",
	"up.rev":  "compute: cn1 cn2 cn3 cn4 cn5 cn6 cn7 cn8\ngpu: gn1 gn2 cn7 cn8\nlogin: login1 login2\nrack1: cn1 cn2 cn3 cn4\nrack2: cn5 cn6 cn7 cn8\n",
	"up2.rev": "half: cn1 cn2 cn3 cn4\nother: login1 login2\n",
	"all.txt": "cn[1-8]\ngn[1-2] login[1-2]\n",
	"groups.conf.d/part.conf": `[part]
map: case $GROUP in a) echo x[1-3];; b) echo x[3-5] y1;; esac
list: echo a b
`,
	"groups.d/cluster.yaml": `ysrc:
  web: w[1-3]
  db: [d1, d2]
  "rk1": w1,d1
  "rk2": w[2-3],d2
  mixed: "@up:login,w1"
  all: w[1-3],d[1-2]
ysrc2:
  x: "@ysrc:web!w2"
  idx: "@ysrc:rk[1-2]"
`,
	"groups.d/local.cfg": "adm: admin1\nio: io[1-4]\nall: admin1,io[1-4]\n",
}

// compatCLI computes, from a Resolver, what ClusterShell's nodeset prints
// for the group-related commands compared below.
type compatCLI struct {
	t *testing.T
	r Resolver
}

func (c compatCLI) parse(s string) (NodeSet, error) { return Parse(s, WithResolver(c.r)) }

// groupNames is ClusterShell's grouplist(): names parsed as node sets
// (ranges expanded), sorted.
func (c compatCLI) groupNames(source string) ([]string, error) {
	names, err := c.r.List(source)
	if err != nil {
		return nil, err
	}
	set, err := Parse(strings.Join(names, ","))
	if err != nil {
		return nil, err
	}
	var out []string
	for n := range set.All() {
		out = append(out, n)
	}
	return out, nil
}

// list prints "nodeset [-s source] -l|-ll" (level 1 or 2).
func (c compatCLI) list(source string, level int, out *bytes.Buffer) error {
	names, err := c.groupNames(source)
	if err != nil {
		return err
	}
	for _, g := range names {
		ref := "@" + g
		if source != "" {
			ref = "@" + source + ":" + g
		}
		if level == 1 {
			fmt.Fprintln(out, ref)
			continue
		}
		ns, err := c.parse(ref)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %s\n", ref, ns)
	}
	return nil
}

func (c compatCLI) run(args []string) (string, error) {
	var out bytes.Buffer
	switch {
	case args[0] == "--groupsources":
		for i, s := range c.r.Sources() {
			if i == 0 {
				s += " (default)"
			}
			fmt.Fprintln(&out, s)
		}
	case args[0] == "-LL":
		for i, s := range c.r.Sources() {
			if i == 0 {
				s = ""
			}
			if err := c.list(s, 2, &out); err != nil {
				return out.String(), err
			}
		}
	case args[0] == "-s" && args[2] == "-l":
		err := c.list(args[1], 1, &out)
		return out.String(), err
	case args[0] == "-s" && args[2] == "-ll":
		err := c.list(args[1], 2, &out)
		return out.String(), err
	case args[0] == "-l":
		err := c.list("", 1, &out)
		return out.String(), err
	case args[0] == "-e":
		ns, err := c.parse(args[1])
		if err != nil {
			return "", err
		}
		var names []string
		for n := range ns.All() {
			names = append(names, n)
		}
		fmt.Fprintln(&out, strings.Join(names, " "))
	case args[0] == "-f":
		ns, err := c.parse(args[1])
		if err != nil {
			return "", err
		}
		fmt.Fprintln(&out, ns)
	case args[0] == "-s" && args[2] == "-r":
		ns, err := c.parse(args[3])
		if err != nil {
			return "", err
		}
		s, err := ns.Regroup(c.r, args[1], false)
		if err != nil {
			return "", err
		}
		fmt.Fprintln(&out, s)
	default:
		c.t.Fatalf("compatCLI: unsupported command %q", args)
	}
	return out.String(), nil
}

// TestGroupsMatchClusterShell runs ClusterShell's nodeset on a test
// configuration (CLUSTERSHELL_CFGDIR, as honoured by ClusterShell 1.9.1's
// Defaults.config_paths) and compares its output with what the same
// configuration gives through LoadDefaultGroups.
func TestGroupsMatchClusterShell(t *testing.T) {
	nodeset := needTool(t, "nodeset")
	root := t.TempDir()
	cfg := writeFiles(t, filepath.Join(root, "cfg"), compatGroupsFiles)
	// Keep the user's own configuration out of both tools.
	t.Setenv("HOME", filepath.Join(root, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(root, "xdg"))
	t.Setenv("CLUSTERSHELL_CFGDIR", cfg)

	gs, err := LoadDefaultGroups()
	if err != nil {
		t.Fatalf("LoadDefaultGroups: %v", err)
	}
	cli := compatCLI{t: t, r: gs}

	cmds := [][]string{
		{"--groupsources"},
		{"-LL"},
		{"-l"},
		{"-s", "up", "-l"},
		{"-s", "up2", "-ll"},
		{"-s", "part", "-l"},
		{"-s", "ysrc", "-l"},
		{"-s", "ysrc2", "-ll"},
		{"-s", "local", "-l"},
		{"-e", "@compute"},
		{"-e", "@gpu!@rack2"},
		{"-f", "@up2:other"},
		{"-f", "@rack[1-2]"},
		{"-f", "@*"},
		{"-f", "@up2:*"},
		{"-f", "@part:*"},
		{"-f", "@part:b&@part:a"},
		{"-f", "@ysrc:*"},
		{"-f", "@ysrc2:*"},
		{"-f", "@ysrc2:idx"},
		{"-f", "@ysrc2:x"},
		{"-f", "@ysrc:mixed"},
		{"-f", "@local:io,@local:*"},
		{"-f", "@ysrc:nosuchgroup,n1"},
		{"-e", "@@ysrc"},
		{"-f", "cn*"},
		{"-s", "up", "-r", "cn[1-8],gn[1-2]"},
		{"-s", "up2", "-r", "cn[1-4],login[1-2]"},
		{"-s", "ysrc", "-r", "w[1-3],d[1-2]"},
		{"-s", "part", "-r", "x[1-5],y1"},
	}
	for _, args := range cmds {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(nodeset, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("ClusterShell nodeset %q failed: %v\n%s", args, err, stderr.String())
			}
			got, err := cli.run(args)
			if err != nil {
				t.Fatalf("muster: %v", err)
			}
			if got != stdout.String() {
				t.Errorf("nodeset %s:\nClusterShell:\n%smuster:\n%s", strings.Join(args, " "), stdout.String(), got)
			}
		})
	}

	// Failures: both report an error for the same inputs.
	t.Run("errors", func(t *testing.T) {
		writeFiles(t, cfg, map[string]string{"groups.conf.d/broken.conf": "[broken]\nmap: echo oops >&2; exit 2\nlist: echo 'a@b'\n"})
		gs, err := LoadDefaultGroups()
		if err != nil {
			t.Fatal(err)
		}
		cli := compatCLI{t: t, r: gs}
		for _, args := range [][]string{{"-e", "@broken:x"}, {"-s", "broken", "-l"}, {"-e", "@nosuchsource:x"}} {
			cmd := exec.Command(nodeset, args...)
			cmd.Stderr = new(bytes.Buffer)
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("ClusterShell nodeset %q did not fail: %v", args, err)
			}
			if _, err := cli.run(args); err == nil {
				t.Errorf("nodeset %q: ClusterShell fails, muster does not", args)
			}
		}
	})
}
