package sshworker

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	o, err := ParseOptionString(`-F /etc/muster/ssh_config -qT -p2222 -l root -i ~/.ssh/id_a -i "/keys/with space" -J admin@gw:2200,gw2 ` +
		`-oStrictHostKeyChecking=accept-new -o "ConnectTimeout 5" -o ServerAliveInterval=30 -o 'IdentityFile=/k/b' -o ForwardAgent=no -4 -o BatchMode=yes -o ControlMaster=auto`)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		ConfigFile:    "/etc/muster/ssh_config",
		Port:          2222,
		User:          "root",
		IdentityFiles: []string{"~/.ssh/id_a", "/keys/with space"},
		ProxyJump:     "admin@gw:2200,gw2",
		AddressFamily: "inet",
		RequestTTY:    "no",
		Settings: []Setting{
			{"StrictHostKeyChecking", "accept-new"}, {"ConnectTimeout", "5"}, {"ServerAliveInterval", "30"},
			{"IdentityFile", "/k/b"}, {"ForwardAgent", "no"}, {"BatchMode", "yes"}, {"ControlMaster", "auto"},
		},
	}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got  %+v\nwant %+v", o, want)
	}
}

func TestParseOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		in          string
		unsupported string // the option an *UnsupportedOptionError names, or "" for an *OptionError
	}{
		{"-A", "-A"},
		{"-qX", "-X"},
		{"-L 8080:localhost:80", "-L"},
		{`-o "ProxyCommand=nc %h %p"`, "-o ProxyCommand=nc %h %p"},
		{"-o ForwardAgent=yes", "-o ForwardAgent=yes"},
		{"-o RequestTTY=sometimes", ""},
		{"-o LocalForward=1", "-o LocalForward"},
		{"-o NoSuchKeyword=1", "-o NoSuchKeyword"},
		{"node1", "node1"},
		{"-p", ""},
		{"-p 0", ""},
		{"-p abc", ""},
		{"-o Port=70000", ""},
		{"-o ConnectTimeout=soon", ""},
		{"-o StrictHostKeyChecking=maybe", ""},
		{"-J user@", ""},
		{"-J a:b", ""},
		{"-o", ""},
		{"-o =x", ""},
		{"-o Port=", ""},
		{`-o "Port=22`, ""},
	} {
		_, err := ParseOptionString(tc.in)
		if err == nil {
			t.Errorf("%q: no error", tc.in)
			continue
		}
		var ue *UnsupportedOptionError
		if tc.unsupported != "" {
			if !errors.As(err, &ue) || ue.Option != tc.unsupported || !errors.Is(err, ErrUnsupported) ||
				!strings.Contains(err.Error(), "openssh worker") {
				t.Errorf("%q: %v, want an UnsupportedOptionError for %q pointing to the openssh worker", tc.in, err, tc.unsupported)
			}
			continue
		}
		var oe *OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%q: %v (%T), want an *OptionError", tc.in, err, err)
		}
	}
}

func TestParseTTYFlags(t *testing.T) {
	for in, want := range map[string]string{"-t": "yes", "-tt": "force", "-t -t": "force", "-ttt": "force", "-T": "no", "-tt -T": "no", "-q": ""} {
		o, err := ParseOptionString(in)
		if err != nil || o.RequestTTY != want {
			t.Errorf("%q: RequestTTY %q %v, want %q", in, o.RequestTTY, err, want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		``:                               nil,
		`  a  b `:                        {"a", "b"},
		`-o 'A B' "c d"`:                 {"-o", "A B", "c d"},
		`a\ b c\\d`:                      {"a b", `c\d`},
		`"x\"y" 'p\q'`:                   {`x"y`, `p\q`},
		`''`:                             {""},
		`-oUserKnownHostsFile=/dev/null`: {"-oUserKnownHostsFile=/dev/null"},
	} {
		got, err := SplitWords(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`'open`, `"open`, `a "b`} {
		if _, err := SplitWords(in); err == nil {
			t.Errorf("SplitWords(%q): no error", in)
		}
	}
}

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"10": 10 * time.Second, "0": 0, "1m30s": 90 * time.Second, "2h": 2 * time.Hour, "1w": 7 * 24 * time.Hour} {
		if got, err := parseSeconds(in); err != nil || got != want {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1x", "m", "1.5"} {
		if _, err := parseSeconds(in); err == nil {
			t.Errorf("parseSeconds(%q): no error", in)
		}
	}
}

// Precedence: -o beats -p/-l beats the file; the file's first match wins;
// tokens and ~ are expanded; the program's connect timeout sits between
// -o and the file.
func TestResolvePrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	text := `# comment
Host web* !web3
  HostName %h.example.net
  Port 2201
  User webadmin
  IdentityFile ~/.ssh/web_%r
  ConnectTimeout 3

Host jumped
  ProxyJump gw
  StrictHostKeyChecking accept-new

Host *
  User fallback
  Port 2299
  IdentityFile /keys/common
  UserKnownHostsFile %d/kh1 /etc/kh2
  StrictHostKeyChecking no
  ServerAliveInterval 15
`
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	c, err := LoadConfig(Options{ConfigFile: cfg, Settings: []Setting{{"IdentityAgent", "none"}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Resolve("web1")
	if err != nil {
		t.Fatal(err)
	}
	if h.HostName != "web1.example.net" || h.Port != 2201 || h.User != "webadmin" || h.ConnectTimeout != 3*time.Second ||
		h.StrictHostKeyChecking != NoCheck || h.ServerAliveInterval != 15*time.Second {
		t.Errorf("web1: %+v", h)
	}
	if want := []string{filepath.Join(home, ".ssh/web_webadmin"), "/keys/common"}; !reflect.DeepEqual(h.IdentityFiles, want) {
		t.Errorf("web1 identities %v, want %v", h.IdentityFiles, want)
	}
	if want := []string{filepath.Join(home, "kh1"), "/etc/kh2"}; !reflect.DeepEqual(h.UserKnownHostsFiles, want) {
		t.Errorf("known hosts %v, want %v", h.UserKnownHostsFiles, want)
	}
	h, _ = c.Resolve("web3") // negated: falls to Host *
	if h.HostName != "web3" || h.Port != 2299 || h.User != "fallback" || h.ConnectTimeout != DefaultConnectTimeout {
		t.Errorf("web3: %+v", h)
	}
	h, _ = c.Resolve("jumped")
	if h.ProxyJump != "gw" || h.StrictHostKeyChecking != AcceptNew {
		t.Errorf("jumped: %+v", h)
	}

	opts, err := ParseOptions([]string{"-F", cfg, "-p", "22", "-l", "me", "-o", "User=notme", "-i", "/k/cli", "-o", "ProxyJump=none",
		"-o", "StrictHostKeyChecking=yes"})
	if err != nil {
		t.Fatal(err)
	}
	opts.ConnectTimeout = 42 * time.Second
	c, err = LoadConfig(opts)
	if err != nil {
		t.Fatal(err)
	}
	h, _ = c.Resolve("jumped")
	if h.Port != 22 || h.User != "me" || h.ProxyJump != "" || h.StrictHostKeyChecking != Strict || h.ConnectTimeout != 42*time.Second {
		t.Errorf("with options: %+v", h)
	}
	if h.IdentityFiles[0] != "/k/cli" {
		t.Errorf("-i not first: %v", h.IdentityFiles)
	}
	opts.Settings = append(opts.Settings, Setting{"ConnectTimeout", "7"})
	c, _ = LoadConfig(opts)
	if h, _ = c.Resolve("web1"); h.ConnectTimeout != 7*time.Second {
		t.Errorf("-o ConnectTimeout did not win: %v", h.ConnectTimeout)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	if _, err := LoadConfig(Options{ConfigFile: filepath.Join(t.TempDir(), "absent")}); err == nil {
		t.Error("an explicit -F file that does not exist is not an error")
	}
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("Host x\n  Port notanumber\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(Options{ConfigFile: bad})
	if err != nil {
		t.Fatal(err)
	}
	var oe *OptionError
	if _, err := c.Resolve("x"); !errors.As(err, &oe) || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad Port: %v, want an OptionError naming the file", err)
	}
	c, _ = LoadConfig(Options{ConfigFile: "none"})
	if h, err := c.Resolve("plain"); err != nil || h.HostName != "plain" || h.Port != 22 {
		t.Errorf("-F none: %+v %v", h, err)
	}
	if _, err := c.Resolve("-oProxyCommand=x"); err == nil {
		t.Error("a host name starting with - accepted")
	}
	for _, bad := range []string{"", "@h", "u@", "a b"} {
		if _, err := c.Resolve(bad); err == nil {
			t.Errorf("Resolve(%q) accepted", bad)
		}
	}
	if h, err := c.Resolve("admin@plain"); err != nil || h.User != "admin" || h.HostName != "plain" || h.Alias != "plain" {
		t.Errorf("user@host: %+v %v", h, err)
	}
	c, _ = LoadConfig(Options{ConfigFile: "none", User: "cli"})
	if h, _ := c.Resolve("admin@plain"); h.User != "cli" {
		t.Errorf("-l should win over user@host: %q", h.User)
	}
}

// FuzzParseOptionString: never panics; what it accepts is consistent.
func FuzzParseOptionString(f *testing.F) {
	for _, s := range []string{
		"-F /x -p 22 -l u -i k -J a@b:1,c -o StrictHostKeyChecking=no",
		`-o "ConnectTimeout 5" -qT4`, "-oPort=2222", "-J [::1]:22", "-o ProxyCommand=nc", "'", `"\"`, "-p",
		"-o ServerAliveInterval=1m", "-o IdentityFile=%d/.ssh/%r",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOptionString(s)
		if err != nil {
			var ue *UnsupportedOptionError
			var oe *OptionError
			if !errors.As(err, &ue) && !errors.As(err, &oe) {
				t.Fatalf("%q: untyped error %v", s, err)
			}
			return
		}
		if o.Port < 0 || o.Port > 65535 {
			t.Fatalf("%q: port %d", s, o.Port)
		}
		for _, st := range o.Settings {
			info, ok := keywords[strings.ToLower(st.Keyword)]
			if !ok || info.name != st.Keyword {
				t.Fatalf("%q: setting %q not canonical", s, st.Keyword)
			}
		}
		if _, err := parseJumps(o.ProxyJump); err != nil {
			t.Fatalf("%q: accepted ProxyJump %q does not parse: %v", s, o.ProxyJump, err)
		}
		c, err := LoadConfig(Options{ConfigFile: "none", Port: o.Port, User: o.User, Settings: o.Settings, ProxyJump: o.ProxyJump})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Resolve("node1"); err != nil {
			t.Fatalf("%q: accepted options do not resolve: %v", s, err)
		}
	})
}

// FuzzResolveConfig: any ssh_config text either fails to load or resolves
// with a typed error or a usable HostConfig, without panicking.
func FuzzResolveConfig(f *testing.F) {
	f.Add("Host n*\n  HostName %h.x\n  Port 2222\nHost *\n  User u\n  IdentityFile ~/k\n", "n1")
	f.Add("Host a !b\n ProxyJump gw:22\n ConnectTimeout 1m\n StrictHostKeyChecking accept-new\n", "a")
	f.Add("Match all\n  Port 1\n", "x")
	f.Fuzz(func(t *testing.T, text, host string) {
		p := filepath.Join(t.TempDir(), "c")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(Options{ConfigFile: p})
		if err != nil {
			return
		}
		h, err := c.Resolve(host)
		if err != nil {
			return
		}
		if h.Port < 1 || h.Port > 65535 || h.HostName == "" || h.ConnectTimeout <= 0 {
			t.Fatalf("resolved %q to %+v", host, h)
		}
	})
}

// Without -F, ~/.ssh/config is read, then the system ssh_config; the
// first value found wins. -F reads only its file.
func TestUserThenSystemConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte("Host a\n  Port 1111\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sys := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(sys, []byte("Host *\n  Port 2222\n  User sysuser\n  HashKnownHosts yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := systemConfig
	systemConfig = sys
	defer func() { systemConfig = old }()

	c, err := LoadConfig(Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Resolve("a")
	if err != nil || h.Port != 1111 || h.User != "sysuser" || !h.HashKnownHosts {
		t.Fatalf("a: %+v %v, want port 1111 from the user file, user and HashKnownHosts from the system file", h, err)
	}
	if h, _ := c.Resolve("b"); h.Port != 2222 {
		t.Fatalf("b: port %d, want 2222", h.Port)
	}
	c, _ = LoadConfig(Options{ConfigFile: filepath.Join(home, ".ssh", "config")})
	if h, _ := c.Resolve("b"); h.Port != 22 || h.User == "sysuser" {
		t.Fatalf("-F: %+v, want no system settings", h)
	}
	// a system file the parser rejects is skipped, not fatal
	if err := os.WriteFile(sys, []byte("Match exec \"true\"\n  Port 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadConfig(Options{}); err != nil {
		t.Fatalf("unparsable system config: %v", err)
	} else if h, _ := c.Resolve("a"); h.Port != 1111 {
		t.Fatalf("a: %+v", h)
	}
}

// FuzzParseJumps: a ProxyJump value that parses prints back to one that
// parses to the same hops.
func FuzzParseJumps(f *testing.F) {
	for _, s := range []string{"gw", "admin@gw:2200,gw2", "[::1]:22", "ssh://u@h:1", "none", "a,,b", "@x", "h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		js, err := parseJumps(s)
		if err != nil {
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("%q: untyped error %v", s, err)
			}
			return
		}
		var parts []string
		for _, j := range js {
			if j.host == "" || j.port < 0 || j.port > 65535 {
				t.Fatalf("%q: bad hop %+v", s, j)
			}
			parts = append(parts, j.String())
		}
		if len(parts) == 0 {
			return
		}
		again, err := parseJumps(strings.Join(parts, ","))
		if err != nil || !reflect.DeepEqual(again, js) {
			t.Fatalf("%q -> %q -> %+v %v, want %+v", s, strings.Join(parts, ","), again, err, js)
		}
	})
}

// FuzzSplitWords: words split from any input, quoted back, split to the
// same words.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{`-o 'A B' "c\"d" e\ f`, `''`, `"`, `a\`, "x\ty\nz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitWords(s)
		if err != nil {
			return
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := SplitWords(strings.Join(quoted, " "))
		if err != nil || !reflect.DeepEqual(again, words) {
			t.Fatalf("%q -> %q -> %q %v", s, words, again, err)
		}
	})
}
