package sshworker

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
)

// HostKeyPolicy is ssh_config's StrictHostKeyChecking: what to do with a
// host whose key known_hosts does not hold.
type HostKeyPolicy int

// Host key policies. A key that differs from the one known_hosts holds is
// refused under Strict and AcceptNew; under No the connection proceeds, as
// in ssh(1), after logging a warning.
const (
	Strict    HostKeyPolicy = iota // "yes" (and "ask": a batch client cannot ask): unknown hosts are refused
	AcceptNew                      // "accept-new": unknown hosts are added to the user known_hosts file
	NoCheck                        // "no"/"off": unknown hosts are added, changed keys only warn
)

// String returns the ssh_config spelling of the policy.
func (p HostKeyPolicy) String() string {
	switch p {
	case Strict:
		return "yes"
	case AcceptNew:
		return "accept-new"
	case NoCheck:
		return "no"
	}
	return "policy(" + strconv.Itoa(int(p)) + ")"
}

// ParseHostKeyPolicy parses a StrictHostKeyChecking value.
func ParseHostKeyPolicy(s string) (HostKeyPolicy, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "ask":
		return Strict, nil
	case "accept-new":
		return AcceptNew, nil
	case "no", "off", "false":
		return NoCheck, nil
	}
	return Strict, &OptionError{Option: "StrictHostKeyChecking", Value: s, Want: "yes, accept-new, no, off or ask"}
}

// HostConfig is the resolved configuration of one node: ssh_config
// applied to the node's name, with Options on top.
type HostConfig struct {
	Alias                 string // the node name as given
	HostName              string // the name or address dialled
	Port                  int
	User                  string
	IdentityFiles         []string // expanded paths, in order
	IdentitiesOnly        bool
	IdentityAgent         string // agent socket path; "" means none
	ProxyJump             string // "" when none
	ConnectTimeout        time.Duration
	StrictHostKeyChecking HostKeyPolicy
	UserKnownHostsFiles   []string
	GlobalKnownHostsFiles []string
	HashKnownHosts        bool
	HostKeyAlias          string
	ServerAliveInterval   time.Duration // 0: no keepalives
	ServerAliveCountMax   int
	AddressFamily         string // "", "inet" or "inet6"
	// RequestTTY is "force" when commands get a pseudo-terminal (ssh -tt),
	// else "" (yes, auto and no all mean none without a local terminal).
	RequestTTY string
	// ConnectionAttempts is how many TCP connects are tried, one second
	// apart, when the host refuses or is unreachable (default 1); all
	// within ConnectTimeout.
	ConnectionAttempts int
	// Env holds the NAME=value pairs sent to the server for every command:
	// SetEnv's, and the local variables SendEnv's patterns match (sshd
	// keeps only the names its AcceptEnv lists).
	Env []string
	// KexAlgorithms, Ciphers and MACs are the algorithms offered, in
	// order of preference, from the ssh_config keywords of those names
	// (see resolveAlgorithms); nil means golang.org/x/crypto/ssh's defaults.
	KexAlgorithms, Ciphers, MACs []string
}

// Addr returns HostName:Port.
func (h *HostConfig) Addr() string {
	return joinHostPort(h.HostName, h.Port)
}

// Key returns the connection pool key: user@host:port, plus the jump chain.
func (h *HostConfig) Key() string {
	k := h.User + "@" + h.Addr()
	if h.ProxyJump != "" {
		k += " via " + h.ProxyJump
	}
	return k
}

// Config is a loaded ssh_config plus Options; it resolves node names into
// HostConfigs. It is safe for concurrent use.
type Config struct {
	opts  Options
	files []configFile // searched in order: the first value found wins
	home  string
	local string // local user name
}

type configFile struct {
	path string
	cfg  *ssh_config.Config
}

// systemConfig is the system-wide ssh_config read after the user's when
// no -F is given, as ssh(1) does.
var systemConfig = "/etc/ssh/ssh_config"

// LoadConfig reads the ssh_config named by opts.ConfigFile with
// github.com/kevinburke/ssh_config. Without one it reads ~/.ssh/config
// then /etc/ssh/ssh_config, as ssh(1) does (either may be absent; a system
// file the parser rejects is skipped with a warning); "none" reads
// nothing. A user or -F file that cannot be read or parsed is an error
// naming it.
func LoadConfig(opts Options) (*Config, error) {
	c := &Config{opts: opts}
	c.home, _ = os.UserHomeDir()
	if u, err := user.Current(); err == nil {
		c.local = u.Username
	} else {
		c.local = os.Getenv("USER")
	}
	path := opts.ConfigFile
	if strings.EqualFold(path, "none") {
		return c, nil
	}
	if path != "" {
		f, err := readConfig(c.expandTilde(path))
		if err != nil {
			return nil, err
		}
		c.files = append(c.files, f)
		return c, nil
	}
	if c.home != "" {
		f, err := readConfig(filepath.Join(c.home, ".ssh", "config"))
		switch {
		case err == nil:
			c.files = append(c.files, f)
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
	}
	f, err := readConfig(systemConfig)
	switch {
	case err == nil:
		c.files = append(c.files, f)
	case !errors.Is(err, os.ErrNotExist):
		logger().Warn("system ssh_config skipped", "err", err)
	}
	return c, nil
}

func readConfig(path string) (configFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return configFile{}, fmt.Errorf("ssh config: %w", err)
	}
	cfg, err := ssh_config.Decode(bytes.NewReader(b))
	if err != nil {
		return configFile{}, fmt.Errorf("ssh config %s: %w (the openssh worker reads every ssh_config construct)", path, err)
	}
	return configFile{path: path, cfg: cfg}, nil
}

// Options returns the options the Config was loaded with.
func (c *Config) Options() Options { return c.opts }

// get returns the value of keyword for alias: -o first, then the files.
func (c *Config) get(alias, keyword string) (string, error) {
	if v, ok := c.opts.setting(keyword); ok {
		return v, nil
	}
	return c.fileGet(alias, keyword, true)
}

// fileGet returns the first value of keyword for alias in the files,
// validated when check is set.
func (c *Config) fileGet(alias, keyword string, check bool) (string, error) {
	for _, f := range c.files {
		v, err := f.cfg.Get(alias, keyword)
		if err != nil {
			return "", fmt.Errorf("ssh config %s: %w", f.path, err)
		}
		if v == "" {
			continue
		}
		if check {
			if err := validateValue(keyword, v); err != nil {
				return "", fmt.Errorf("ssh config %s, host %s: %w", f.path, alias, err)
			}
		}
		return v, nil
	}
	return "", nil
}

// Resolve applies the configuration to the node name alias (or
// user@alias). It fails with
// an *UnsupportedOptionError when ssh_config asks for something the native
// client cannot do for that host (ProxyCommand, ...), and with an
// *OptionError when a value is malformed.
func (c *Config) Resolve(alias string) (*HostConfig, error) {
	dest := alias
	var destUser string
	if at := strings.LastIndexByte(alias, '@'); at >= 0 {
		// user@host, as ssh(1) takes it: the user ranks below -l
		destUser, alias = alias[:at], alias[at+1:]
	}
	if alias == "" || strings.ContainsAny(dest, " \t\r\n") || strings.HasPrefix(dest, "-") || (destUser == "" && dest != alias) {
		return nil, &OptionError{Option: "host", Value: dest, Want: "a host name or user@host"}
	}
	h := &HostConfig{Alias: alias, ServerAliveCountMax: 3}
	var firstErr error
	val := func(k string) string {
		v, err := c.get(alias, k)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	// Keywords in the file that the native client cannot honour.
	for _, k := range []string{"ProxyCommand", "RemoteCommand", "ForwardAgent", "ForwardX11"} {
		v, _ := c.fileGet(alias, k, false)
		if v == "" {
			continue
		}
		if _, err := checkKeyword(k, v); err != nil {
			if k == "ProxyCommand" || k == "RemoteCommand" {
				return nil, fmt.Errorf("ssh config, host %s: %w", alias, err)
			}
			// forwarding or a tty are conveniences of interactive use: log, go on
			logger().Debug("ssh config keyword ignored by the native client", "host", alias, "keyword", k, "value", v)
		}
	}

	h.HostName = alias
	if v := val("HostName"); v != "" {
		h.HostName = strings.ReplaceAll(v, "%h", alias)
	}
	h.Port = 22
	if c.opts.Port != 0 {
		h.Port = c.opts.Port
	} else if v := val("Port"); v != "" {
		h.Port, _ = parsePort(v)
	}
	h.User = c.local
	if c.opts.User != "" {
		h.User = c.opts.User
	} else if destUser != "" {
		h.User = destUser
	} else if v := val("User"); v != "" {
		h.User = v
	}
	if v := val("IdentitiesOnly"); v != "" {
		h.IdentitiesOnly, _ = parseYesNo(v)
	}
	if v := val("HashKnownHosts"); v != "" {
		h.HashKnownHosts, _ = parseYesNo(v)
	}
	h.HostKeyAlias = val("HostKeyAlias")
	if v := val("AddressFamily"); v != "" && !strings.EqualFold(v, "any") {
		h.AddressFamily = strings.ToLower(v)
	}
	if c.opts.AddressFamily != "" {
		h.AddressFamily = c.opts.AddressFamily
	}
	tty := c.opts.RequestTTY
	if tty == "" {
		tty = val("RequestTTY")
	}
	if strings.EqualFold(tty, "force") {
		h.RequestTTY = "force"
	}

	// ProxyJump: -J, then -o / file. "none" disables.
	pj := c.opts.ProxyJump
	if pj == "" {
		pj = val("ProxyJump")
	}
	if strings.EqualFold(pj, "none") {
		pj = ""
	}
	h.ProxyJump = pj

	h.ConnectTimeout = DefaultConnectTimeout
	if v, ok := c.opts.setting("ConnectTimeout"); ok {
		h.ConnectTimeout, _ = parseSeconds(v)
	} else if c.opts.ConnectTimeout > 0 {
		h.ConnectTimeout = c.opts.ConnectTimeout
	} else if v := val("ConnectTimeout"); v != "" {
		h.ConnectTimeout, _ = parseSeconds(v)
	}
	if h.ConnectTimeout <= 0 {
		h.ConnectTimeout = DefaultConnectTimeout
	}
	h.StrictHostKeyChecking = Strict
	if v := val("StrictHostKeyChecking"); v != "" {
		h.StrictHostKeyChecking, _ = ParseHostKeyPolicy(v)
	}
	if v := val("ServerAliveInterval"); v != "" {
		h.ServerAliveInterval, _ = parseSeconds(v)
	}
	if v := val("ServerAliveCountMax"); v != "" {
		h.ServerAliveCountMax, _ = strconv.Atoi(v)
	}

	// Files, with tokens and ~ expanded.
	ukh := val("UserKnownHostsFile")
	if ukh == "" {
		ukh = "~/.ssh/known_hosts ~/.ssh/known_hosts2"
	}
	h.UserKnownHostsFiles = c.expandList(ukh, h)
	gkh := val("GlobalKnownHostsFile")
	if gkh == "" {
		gkh = "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"
	}
	h.GlobalKnownHostsFiles = c.expandList(gkh, h)

	var ids []string
	ids = append(ids, c.opts.IdentityFiles...)
	for _, s := range c.opts.Settings {
		if s.Keyword == "IdentityFile" {
			ids = append(ids, s.Value)
		}
	}
	for _, f := range c.files {
		more, err := f.cfg.GetAll(alias, "IdentityFile")
		if err != nil && firstErr == nil {
			firstErr = err
		}
		ids = append(ids, more...)
	}
	explicitIDs := len(ids) > 0
	if !explicitIDs {
		ids = []string{"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519"}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if strings.EqualFold(id, "none") {
			continue
		}
		p := c.expand(id, h)
		if seen[p] {
			continue
		}
		seen[p] = true
		if !explicitIDs {
			if _, err := os.Stat(p); err != nil {
				continue
			}
		}
		h.IdentityFiles = append(h.IdentityFiles, p)
	}

	for _, a := range []struct {
		keyword string
		dst     *[]string
	}{{"KexAlgorithms", &h.KexAlgorithms}, {"Ciphers", &h.Ciphers}, {"MACs", &h.MACs}} {
		list, err := resolveAlgorithms(a.keyword, val(a.keyword))
		if err != nil {
			return nil, fmt.Errorf("ssh config, host %s: %w", alias, err)
		}
		*a.dst = list
	}

	h.Env = c.env(alias)
	h.ConnectionAttempts = 1
	if v := val("ConnectionAttempts"); v != "" {
		h.ConnectionAttempts, _ = strconv.Atoi(v)
	}

	agent := val("IdentityAgent")
	switch {
	case agent == "" || agent == "SSH_AUTH_SOCK":
		h.IdentityAgent = os.Getenv("SSH_AUTH_SOCK")
	case strings.EqualFold(agent, "none"):
		h.IdentityAgent = ""
	case strings.HasPrefix(agent, "$"):
		h.IdentityAgent = os.Getenv(strings.Trim(agent[1:], "{}"))
	default:
		h.IdentityAgent = c.expand(agent, h)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return h, nil
}

func (c *Config) expandList(s string, h *HostConfig) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		out = append(out, c.expand(f, h))
	}
	return out
}

func (c *Config) expandTilde(p string) string {
	if p == "~" {
		return c.home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(c.home, p[2:])
	}
	return p
}

// expand replaces ~ and the ssh_config tokens %d %h %p %r %u %n %i %%.
func (c *Config) expand(p string, h *HostConfig) string {
	p = c.expandTilde(p)
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+1 == len(p) {
			b.WriteByte(p[i])
			continue
		}
		i++
		switch p[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(c.home)
		case 'h':
			b.WriteString(h.HostName)
		case 'p':
			b.WriteString(strconv.Itoa(h.Port))
		case 'r':
			b.WriteString(h.User)
		case 'u':
			b.WriteString(c.local)
		case 'n':
			b.WriteString(h.Alias)
		case 'i':
			b.WriteString(strconv.Itoa(os.Getuid()))
		default:
			b.WriteByte('%')
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// env gathers SetEnv and SendEnv for alias from -o and the files: every
// value of each, as ssh(1) accumulates them ("-Name" in SendEnv removes).
func (c *Config) env(alias string) []string {
	all := func(keyword string) []string {
		var out []string
		for _, s := range c.opts.Settings {
			if s.Keyword == keyword {
				out = append(out, strings.Fields(s.Value)...)
			}
		}
		for _, f := range c.files {
			vs, _ := f.cfg.GetAll(alias, keyword)
			for _, v := range vs {
				out = append(out, strings.Fields(v)...)
			}
		}
		return out
	}
	var env []string
	seen := map[string]bool{}
	for _, kv := range all("SetEnv") {
		name, _, ok := strings.Cut(kv, "=")
		if ok && name != "" && !seen[name] {
			seen[name] = true
			env = append(env, kv)
		}
	}
	var send []string
	for _, p := range all("SendEnv") {
		if strings.HasPrefix(p, "-") {
			send = slices.DeleteFunc(send, func(q string) bool { ok, _ := path.Match(p[1:], q); return ok || q == p[1:] })
			continue
		}
		send = append(send, p)
	}
	if len(send) == 0 {
		return env
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if seen[name] {
			continue
		}
		for _, p := range send {
			if ok, _ := path.Match(p, name); ok {
				seen[name] = true
				env = append(env, kv)
				break
			}
		}
	}
	return env
}
