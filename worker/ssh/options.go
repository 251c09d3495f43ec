package sshworker

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Options are the settings a caller gives on top of the OpenSSH
// configuration, in the terms of ssh(1)'s command line. ParseOptions and
// ParseOptionString build them from the ssh options clush users pass
// (clush.conf's ssh_options, -o on clush's command line). The zero value
// reads ~/.ssh/config and adds nothing.
type Options struct {
	// ConfigFile is ssh's -F: the ssh_config to read instead of
	// ~/.ssh/config. "none" reads no file.
	ConfigFile string
	// User is ssh's -l: the login name, overriding ssh_config's User.
	User string
	// Port is ssh's -p, overriding ssh_config's Port; 0 means unset.
	Port int
	// IdentityFiles are ssh's -i files, tried before ssh_config's IdentityFile.
	IdentityFiles []string
	// ProxyJump is ssh's -J: [user@]host[:port][,...] or "none".
	ProxyJump string
	// Settings are ssh's -o Keyword=Value options in the order given, with
	// canonical keywords (see SupportedKeywords). For a single-valued
	// keyword the first setting wins, as in ssh(1); every setting wins over
	// ssh_config.
	Settings []Setting
	// ConnectTimeout is the program's connect timeout (clush -t, the task's
	// ConnectTimeout). A -o ConnectTimeout setting wins over it and it wins
	// over ssh_config; 0 means unset (ssh_config's value, else
	// DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// RequestTTY is ssh's -t (yes), -tt (force) or -T (no); "" leaves
	// ssh_config's RequestTTY. Only "force" allocates a pseudo-terminal:
	// like ssh(1) without a local terminal, "yes" does not.
	RequestTTY string
	// AddressFamily is "inet" (ssh -4), "inet6" (ssh -6) or "" (any).
	AddressFamily string

	// MaxIdle is how many connections nobody uses the Client keeps open
	// for reuse; beyond it the least recently used idle connection is
	// closed. 0 means DefaultMaxIdle, a negative value keeps them all.
	MaxIdle int

	// DialContext, when set, opens every TCP connection to a node or first
	// jump host (jumps through a jump host use that host's connection). It
	// lets a program route or count connections; nil means a net.Dialer.
	DialContext func(ctx context.Context, network, address string) (net.Conn, error)
}

// Setting is one -o Keyword=Value option.
type Setting struct {
	Keyword string // canonical spelling, e.g. "StrictHostKeyChecking"
	Value   string
}

// DefaultMaxIdle is the default Options.MaxIdle: enough for a fanout of
// 64 to find its connections again, without holding thousands of sockets
// and their goroutines after a large node set.
const DefaultMaxIdle = 256

// DefaultConnectTimeout bounds connect, banner, key exchange and
// authentication when neither the options nor ssh_config set ConnectTimeout.
const DefaultConnectTimeout = 10 * time.Second

// keyword support classes
const (
	kwHonoured = iota + 1
	kwIgnored  // accepted because ignoring it changes nothing for a batch client
	kwValued   // ignored for the harmless values listed, unsupported for others
)

type keywordInfo struct {
	name  string
	class int
	ok    []string // kwValued: the values that are harmless
	why   string   // kwValued: why other values are not supported
	multi bool     // several values accumulate (IdentityFile)
}

// keywords maps lower-case ssh_config keywords to what the native client
// does with them.
var keywords = func() map[string]keywordInfo {
	m := map[string]keywordInfo{}
	add := func(k keywordInfo) { m[strings.ToLower(k.name)] = k }
	for _, n := range []string{"HostName", "Port", "User", "IdentitiesOnly", "ProxyJump",
		"ConnectTimeout", "StrictHostKeyChecking", "UserKnownHostsFile", "GlobalKnownHostsFile",
		"ServerAliveInterval", "ServerAliveCountMax", "IdentityAgent", "HostKeyAlias",
		"HashKnownHosts", "AddressFamily", "ConnectionAttempts", "KexAlgorithms", "Ciphers", "MACs"} {
		add(keywordInfo{name: n, class: kwHonoured})
	}
	add(keywordInfo{name: "IdentityFile", class: kwHonoured, multi: true})
	add(keywordInfo{name: "SendEnv", class: kwHonoured, multi: true})
	add(keywordInfo{name: "SetEnv", class: kwHonoured, multi: true})
	for _, n := range []string{"BatchMode", "LogLevel", "ControlMaster", "ControlPath", "ControlPersist",
		"Compression", "PasswordAuthentication", "KbdInteractiveAuthentication",
		"ChallengeResponseAuthentication", "CheckHostIP", "UpdateHostKeys", "TCPKeepAlive",
		"VisualHostKey", "ForwardX11Trusted", "NumberOfPasswordPrompts",
		"EscapeChar", "ExitOnForwardFailure", "ClearAllForwardings", "AddKeysToAgent",
		"PreferredAuthentications", "GSSAPIAuthentication", "HostbasedAuthentication",
		"VerifyHostKeyDNS", "StdinNull", "SessionType"} {
		if _, dup := m[strings.ToLower(n)]; !dup {
			add(keywordInfo{name: n, class: kwIgnored})
		}
	}
	add(keywordInfo{name: "ForwardAgent", class: kwValued, ok: []string{"no"}, why: "agent forwarding is not implemented"})
	add(keywordInfo{name: "ForwardX11", class: kwValued, ok: []string{"no"}, why: "X11 forwarding is not implemented"})
	add(keywordInfo{name: "RequestTTY", class: kwHonoured})
	add(keywordInfo{name: "PubkeyAuthentication", class: kwValued, ok: []string{"yes", "unbound", "host-bound"}, why: "public keys are the only authentication"})
	add(keywordInfo{name: "ProxyCommand", class: kwValued, ok: []string{"none"}, why: "ProxyJump covers jump hosts"})
	add(keywordInfo{name: "RemoteCommand", class: kwValued, ok: []string{"none"}, why: "the command comes from the task"})
	return m
}()

// SupportedKeywords returns the ssh_config keywords that the native client
// honours (the others are either ignored because they change nothing for a
// batch client, or refused with an *UnsupportedOptionError).
func SupportedKeywords() []string {
	var out []string
	for _, k := range keywords {
		if k.class == kwHonoured {
			out = append(out, k.name)
		}
	}
	return out
}

// checkKeyword validates a -o setting and returns its canonical keyword.
func checkKeyword(key, value string) (string, error) {
	info, ok := keywords[strings.ToLower(key)]
	if !ok {
		return "", &UnsupportedOptionError{Option: "-o " + key}
	}
	if info.class == kwValued && !containsFold(info.ok, value) {
		return "", &UnsupportedOptionError{Option: "-o " + info.name + "=" + value, Reason: info.why}
	}
	if err := validateValue(info.name, value); err != nil {
		return "", err
	}
	return info.name, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// validateValue checks the syntax of an honoured keyword's value.
func validateValue(keyword, value string) error {
	switch keyword {
	case "Port":
		if _, err := parsePort(value); err != nil {
			return &OptionError{Option: keyword, Value: value, Want: "a port number 1-65535"}
		}
	case "ConnectTimeout", "ServerAliveInterval":
		if _, err := parseSeconds(value); err != nil {
			return &OptionError{Option: keyword, Value: value, Want: "a time in seconds (e.g. 10 or 1m30s)"}
		}
	case "ServerAliveCountMax":
		if n, err := strconv.Atoi(value); err != nil || n < 0 {
			return &OptionError{Option: keyword, Value: value, Want: "a non-negative integer"}
		}
	case "ConnectionAttempts":
		if n, err := strconv.Atoi(value); err != nil || n < 1 || n > 1000 {
			return &OptionError{Option: keyword, Value: value, Want: "a number of attempts from 1"}
		}
	case "IdentitiesOnly", "HashKnownHosts":
		if _, err := parseYesNo(value); err != nil {
			return &OptionError{Option: keyword, Value: value, Want: "yes or no"}
		}
	case "StrictHostKeyChecking":
		if _, err := ParseHostKeyPolicy(value); err != nil {
			return err
		}
	case "RequestTTY":
		if !containsFold([]string{"yes", "no", "force", "auto"}, value) {
			return &OptionError{Option: keyword, Value: value, Want: "yes, no, force or auto"}
		}
	case "AddressFamily":
		if !containsFold([]string{"any", "inet", "inet6"}, value) {
			return &OptionError{Option: keyword, Value: value, Want: "any, inet or inet6"}
		}
	case "ProxyJump":
		if _, err := parseJumps(value); err != nil {
			return err
		}
	case "KexAlgorithms", "Ciphers", "MACs":
		if _, err := resolveAlgorithms(keyword, value); err != nil {
			return err
		}
	case "User", "HostName", "IdentityFile", "UserKnownHostsFile", "GlobalKnownHostsFile", "IdentityAgent", "HostKeyAlias":
		if value == "" {
			return &OptionError{Option: keyword, Value: value, Want: "a non-empty value"}
		}
	}
	return nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return n, nil
}

func parseYesNo(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		return true, nil
	case "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("bad boolean %q", s)
}

// parseSeconds reads OpenSSH's time format: a bare number of seconds or
// a sequence of number+unit (s, m, h, d, w).
func parseSeconds(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 1<<31 {
			return 0, fmt.Errorf("time out of range %q", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	var total time.Duration
	rest := strings.ToLower(s)
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, fmt.Errorf("bad time %q", s)
		}
		n, _ := strconv.Atoi(rest[:i])
		unit := time.Second
		if i < len(rest) {
			switch rest[i] {
			case 's':
			case 'm':
				unit = time.Minute
			case 'h':
				unit = time.Hour
			case 'd':
				unit = 24 * time.Hour
			case 'w':
				unit = 7 * 24 * time.Hour
			default:
				return 0, fmt.Errorf("bad time unit in %q", s)
			}
			i++
		}
		total += time.Duration(n) * unit
		if total > 1<<31*time.Second {
			return 0, fmt.Errorf("time out of range %q", s)
		}
		rest = rest[i:]
	}
	return total, nil
}

// ParseOptionString parses ssh options written as one string, the way
// clush.conf's ssh_options and clush -o give them: words split as a POSIX
// shell would (quotes and backslashes), then ParseOptions.
func ParseOptionString(s string) (Options, error) {
	argv, err := SplitWords(s)
	if err != nil {
		return Options{}, err
	}
	return ParseOptions(argv)
}

// ParseOptions parses ssh(1) command-line options: -F file, -i key,
// -p port, -l user, -J jump, -o Keyword=Value (or "Keyword Value"), -4,
// -6, -t/-tt/-T (see Options.RequestTTY), and the flags that change nothing
// for a batch client (-q -v -x -C -n -a -k). Flags may be grouped (-qT) and an option's value may be
// attached (-p2222, -oPort=2222). Anything else, and any -o keyword or
// value the native client cannot honour, is an *UnsupportedOptionError
// naming it. A malformed value is an *OptionError.
func ParseOptions(argv []string) (Options, error) {
	var o Options
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if len(arg) < 2 || arg[0] != '-' || arg == "--" {
			return o, &UnsupportedOptionError{Option: arg, Reason: "not an option; host names and commands come from the task"}
		}
		for j := 1; j < len(arg); j++ {
			c := arg[j]
			switch c {
			case 'q', 'v', 'x', 'C', 'n', 'a', 'k':
				continue
			case 't':
				// as ssh(1): one -t asks for a terminal only when the local
				// input is one (never so for a worker), -tt forces it
				if o.RequestTTY == "yes" {
					o.RequestTTY = "force"
				} else if o.RequestTTY != "force" {
					o.RequestTTY = "yes"
				}
				continue
			case 'T':
				o.RequestTTY = "no"
				continue
			case '4':
				o.AddressFamily = "inet"
				continue
			case '6':
				o.AddressFamily = "inet6"
				continue
			case 'F', 'i', 'p', 'l', 'J', 'o':
			default:
				return o, &UnsupportedOptionError{Option: "-" + string(c)}
			}
			// an option with a value: the rest of this word, or the next word
			val := arg[j+1:]
			if val == "" {
				if i+1 >= len(argv) {
					return o, &OptionError{Option: "-" + string(c), Value: "", Want: "a value after -" + string(c)}
				}
				i++
				val = argv[i]
			}
			if err := o.set(c, val); err != nil {
				return o, err
			}
			break
		}
	}
	return o, nil
}

func (o *Options) set(flag byte, val string) error {
	switch flag {
	case 'F':
		if val == "" {
			return &OptionError{Option: "-F", Value: val, Want: "a file name"}
		}
		o.ConfigFile = val
	case 'i':
		if val == "" {
			return &OptionError{Option: "-i", Value: val, Want: "a key file name"}
		}
		o.IdentityFiles = append(o.IdentityFiles, val)
	case 'p':
		p, err := parsePort(val)
		if err != nil {
			return &OptionError{Option: "-p", Value: val, Want: "a port number 1-65535"}
		}
		o.Port = p
	case 'l':
		if val == "" {
			return &OptionError{Option: "-l", Value: val, Want: "a login name"}
		}
		o.User = val
	case 'J':
		if _, err := parseJumps(val); err != nil {
			return err
		}
		o.ProxyJump = val
	case 'o':
		key, value, err := splitSetting(val)
		if err != nil {
			return err
		}
		canon, err := checkKeyword(key, value)
		if err != nil {
			return err
		}
		o.Settings = append(o.Settings, Setting{Keyword: canon, Value: value})
	}
	return nil
}

// splitSetting splits "Key=Value", "Key Value" or "Key = Value".
func splitSetting(s string) (key, value string, err error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r == '=' || unicode.IsSpace(r) })
	if i <= 0 {
		return "", "", &OptionError{Option: "-o", Value: s, Want: "Keyword=Value"}
	}
	key = s[:i]
	value = strings.TrimSpace(s[i:])
	value = strings.TrimPrefix(value, "=")
	value = strings.TrimSpace(value)
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	if value == "" {
		return "", "", &OptionError{Option: "-o " + key, Value: s, Want: "Keyword=Value with a value"}
	}
	return key, value, nil
}

// setting returns the first -o value for keyword.
func (o *Options) setting(keyword string) (string, bool) {
	for _, s := range o.Settings {
		if s.Keyword == keyword {
			return s.Value, true
		}
	}
	return "", false
}

// SplitWords splits s into words like a POSIX shell without expansions:
// blanks separate words, single quotes keep everything literal, double
// quotes keep everything but \" \\ \$ \` literal, a backslash outside
// quotes escapes the next character. An unterminated quote is an error.
func SplitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		have  bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if have {
				words = append(words, cur.String())
				cur.Reset()
				have = false
			}
		case c == '\\':
			have = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					cur.WriteByte(s[i])
				}
			}
		case c == '\'':
			have = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, &OptionError{Option: "ssh options", Value: s, Want: "a closing single quote"}
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			have = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, &OptionError{Option: "ssh options", Value: s, Want: "a closing double quote"}
			}
		default:
			have = true
			cur.WriteByte(c)
		}
	}
	if have {
		words = append(words, cur.String())
	}
	return words, nil
}

// jump is one ProxyJump hop.
type jump struct {
	user, host string
	port       int
}

func (j jump) String() string {
	s := j.host
	if strings.Contains(s, ":") {
		s = "[" + s + "]" // an IPv6 address
	}
	if j.port != 0 {
		s += ":" + strconv.Itoa(j.port)
	}
	if j.user != "" {
		s = j.user + "@" + s
	}
	return s
}

// parseJumps parses a ProxyJump value: "none" (nil) or comma-separated
// [user@]host[:port] (an IPv6 address in brackets), or ssh:// URIs.
func parseJumps(s string) ([]jump, error) {
	if s == "" || strings.EqualFold(s, "none") {
		return nil, nil
	}
	var out []jump
	for _, part := range strings.Split(s, ",") {
		bad := &OptionError{Option: "ProxyJump", Value: s, Want: "[user@]host[:port][,...]"}
		part = strings.TrimPrefix(part, "ssh://")
		var j jump
		if at := strings.LastIndexByte(part, '@'); at >= 0 {
			j.user, part = part[:at], part[at+1:]
			if j.user == "" {
				return nil, bad
			}
		}
		host := part
		if strings.HasPrefix(part, "[") {
			end := strings.IndexByte(part, ']')
			if end < 0 {
				return nil, bad
			}
			host = part[1:end]
			rest := part[end+1:]
			if rest != "" {
				if rest[0] != ':' {
					return nil, bad
				}
				p, err := parsePort(rest[1:])
				if err != nil {
					return nil, bad
				}
				j.port = p
			}
		} else if c := strings.IndexByte(part, ':'); c >= 0 {
			host = part[:c]
			p, err := parsePort(part[c+1:])
			if err != nil {
				return nil, bad
			}
			j.port = p
		}
		if host == "" || strings.ContainsAny(host, " \t/@[]") {
			return nil, bad
		}
		j.host = host
		out = append(out, j)
	}
	return out, nil
}
