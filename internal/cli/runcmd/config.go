package runcmd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/muster-sh/muster/nodeset"
)

// config is clush.conf's [Main] section: defaults, then the files found,
// then command-line overrides.
type config map[string]string

// errConfig is wrapped by configuration errors (exit code 1).
var errConfig = errors.New("bad configuration")

func defaultConfig() config {
	return config{
		"fanout": "64", "connect_timeout": "10", "command_timeout": "0",
		"verbosity": "1", "node_count": "yes", "maxrc": "no", "color": "",
	}
}

// clushConfPaths returns where clush.conf is looked for, lowest priority
// first: the directories where groups.conf is looked for.
func clushConfPaths() []string {
	var out []string
	for _, p := range nodeset.GroupsConfigPaths() {
		out = append(out, filepath.Join(filepath.Dir(p), "clush.conf"))
	}
	return out
}

// parseINI reads the keys of section from an INI file the way Python's
// configparser does for simple files: "key = value" or "key: value",
// keys lowercased, "#" and ";" comment lines, indented continuation lines.
func parseINI(r io.Reader, section string, into config) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	cur, key := "", ""
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			key = ""
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if key != "" && cur == section {
				into[key] += "\n" + trimmed
			}
			continue
		}
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return fmt.Errorf("%w: line %d: %q: section header without ']'", errConfig, n, line)
			}
			cur, key = trimmed[1:end], ""
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			return fmt.Errorf("%w: line %d: %q: expected key = value", errConfig, n, line)
		}
		if cur == "" {
			return fmt.Errorf("%w: line %d: %q: key outside a section", errConfig, n, line)
		}
		key = strings.ToLower(strings.TrimSpace(line[:i]))
		if cur == section {
			into[key] = strings.TrimSpace(line[i+1:])
		}
	}
	return sc.Err()
}

// loadConfig reads clush.conf (file, or every standard location) into the
// defaults.
func loadConfig(file string) (config, error) {
	c := defaultConfig()
	paths := clushConfPaths()
	if file != "" {
		paths = []string{file}
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue // unreadable files are skipped, like configparser.read
		}
		err = parseINI(f, "Main", c)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return c, nil
}

func (c config) boolean(key string) (bool, error) {
	switch strings.ToLower(c[key]) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("%w: (Config Main.%s): Not a boolean: %s", errConfig, key, c[key])
}

func (c config) float(key string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(c[key]), 64)
	if err != nil {
		return 0, fmt.Errorf("%w: (Config Main.%s): could not convert string to float: '%s'", errConfig, key, c[key])
	}
	return f, nil
}

func (c config) integer(key string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(c[key]))
	if err != nil {
		return 0, fmt.Errorf("%w: (Config Main.%s): invalid literal for int() with base 10: '%s'", errConfig, key, c[key])
	}
	return n, nil
}

// settings resolves the options that clush.conf and the command line
// share into o (command line first).
func (c config) apply(o *options) error {
	if o.quiet {
		c["verbosity"] = "0"
	}
	if o.verbose {
		c["verbosity"] = "2"
	}
	if o.fanoutSet {
		c["fanout"] = strconv.Itoa(o.fanout)
	}
	if o.user != "" {
		c["ssh_user"] = o.user
	}
	if o.sshOptions != "" {
		c["ssh_options"] = o.sshOptions
	}
	if o.connTimeout != 0 {
		c["connect_timeout"] = strconv.FormatFloat(o.connTimeout, 'g', -1, 64)
	}
	if o.cmdTimeout != 0 {
		c["command_timeout"] = strconv.FormatFloat(o.cmdTimeout, 'g', -1, 64)
	}
	if o.maxrc {
		c["maxrc"] = "yes"
	}
	if o.color != nil && *o.color != "" {
		c["color"] = *o.color
	}
	for _, kv := range o.overrides {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%w: (Config Main.%s): invalid -O/--option value", errConfig, kv)
		}
		c[strings.ToLower(k)] = v
	}
	var err error
	if o.fanout, err = c.integer("fanout"); err != nil {
		return err
	}
	if o.connTimeout, err = c.float("connect_timeout"); err != nil {
		return err
	}
	if o.cmdTimeout, err = c.float("command_timeout"); err != nil {
		return err
	}
	// maxrc is read only when the run is over, as clush does.
	if o.nodeCount, err = c.boolean("node_count"); err != nil {
		return err
	}
	if o.verbosity, err = c.integer("verbosity"); err != nil {
		return err
	}
	o.user, o.sshOptions = c["ssh_user"], c["ssh_options"]
	return nil
}
