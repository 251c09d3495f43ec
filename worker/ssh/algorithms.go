package sshworker

import (
	"path"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
)

// algorithmKeywords are the ssh_config keywords that choose algorithms,
// with the native client's default (preferred first) and known lists.
var algorithmKeywords = map[string]func() (defaults, known []string){
	"KexAlgorithms": func() ([]string, []string) {
		s, i := ssh.SupportedAlgorithms(), ssh.InsecureAlgorithms()
		return s.KeyExchanges, append(slices.Clone(s.KeyExchanges), i.KeyExchanges...)
	},
	"Ciphers": func() ([]string, []string) {
		s, i := ssh.SupportedAlgorithms(), ssh.InsecureAlgorithms()
		return s.Ciphers, append(slices.Clone(s.Ciphers), i.Ciphers...)
	},
	"MACs": func() ([]string, []string) {
		s, i := ssh.SupportedAlgorithms(), ssh.InsecureAlgorithms()
		return s.MACs, append(slices.Clone(s.MACs), i.MACs...)
	},
}

// checkAlgorithmSyntax checks an algorithm list's syntax: an optional
// leading +, - or ^, then comma-separated names or patterns.
func checkAlgorithmSyntax(keyword, value string) error {
	list := strings.TrimLeft(value, "+-^")
	if len(value)-len(list) > 1 || list == "" {
		return &OptionError{Option: keyword, Value: value, Want: "a comma-separated list of algorithms, optionally starting with +, - or ^"}
	}
	for name := range strings.SplitSeq(list, ",") {
		if _, err := path.Match(name, ""); name == "" || err != nil || strings.ContainsAny(name, " \t[]\\") {
			return &OptionError{Option: keyword, Value: value, Want: "a comma-separated list of algorithms, optionally starting with +, - or ^"}
		}
	}
	return nil
}

// resolveAlgorithms applies an ssh_config algorithm list to the native
// client's defaults as ssh(1) does: a plain list replaces them, "+list"
// appends to them, "-list" removes from them, "^list" puts the list at
// their head; names may be patterns with * and ?. Algorithms the native
// client does not implement are left out (ssh(1) implements some that
// golang.org/x/crypto/ssh does not, such as sntrup761x25519-sha512); a
// list that leaves none is an *UnsupportedOptionError. An empty value
// returns nil: the defaults.
func resolveAlgorithms(keyword, value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	if err := checkAlgorithmSyntax(keyword, value); err != nil {
		return nil, err
	}
	defaults, known := algorithmKeywords[keyword]()
	op, list := byte(0), value
	if strings.ContainsRune("+-^", rune(value[0])) {
		op, list = value[0], value[1:]
	}
	patterns := strings.Split(list, ",")
	matches := func(name string) bool {
		for _, p := range patterns {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
	// named: the known algorithms the list names, in the list's order
	var named []string
	for _, p := range patterns {
		for _, k := range known {
			if ok, _ := path.Match(p, k); ok && !slices.Contains(named, k) {
				named = append(named, k)
			}
		}
	}
	var out []string
	switch op {
	case '+':
		out = slices.Clone(defaults)
		for _, n := range named {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	case '-':
		for _, d := range defaults {
			if !matches(d) {
				out = append(out, d)
			}
		}
	case '^':
		out = slices.Clone(named)
		for _, d := range defaults {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	default:
		out = named
	}
	if len(out) == 0 {
		return nil, &UnsupportedOptionError{Option: keyword + " " + value,
			Reason: "the native client implements none of these; it has " + strings.Join(known, ",")}
	}
	return out, nil
}
