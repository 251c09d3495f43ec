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
	"github.com/muster-sh/muster/worker/exec"
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

// iniData is an INI file's sections and their keys, sections in the
// order they first appeared.
type iniData struct {
	sections map[string]config
	order    []string
}

func newINIData() *iniData { return &iniData{sections: map[string]config{}} }

// parseINI reads an INI file the way Python's configparser does for
// simple files: "[section]", "key = value" or "key: value", keys
// lowercased, "#" and ";" comment lines, indented continuation lines.
// Later values replace earlier ones.
func parseINI(r io.Reader, into *iniData) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur config
	key := ""
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
			if key != "" {
				cur[key] += "\n" + trimmed
			}
			continue
		}
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return fmt.Errorf("%w: line %d: %q: section header without ']'", errConfig, n, line)
			}
			name := trimmed[1:end]
			if into.sections[name] == nil {
				into.sections[name] = config{}
				into.order = append(into.order, name)
			}
			cur, key = into.sections[name], ""
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			return fmt.Errorf("%w: line %d: %q: expected key = value", errConfig, n, line)
		}
		if cur == nil {
			return fmt.Errorf("%w: line %d: %q: key outside a section", errConfig, n, line)
		}
		key = strings.ToLower(strings.TrimSpace(line[:i]))
		cur[key] = strings.TrimSpace(line[i+1:])
	}
	return sc.Err()
}

// readINI adds the file at path to data; it reports whether it was read.
func readINI(path string, data *iniData) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, nil // unreadable files are skipped, like configparser.read
	}
	defer f.Close()
	if err := parseINI(f, data); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// loadConfig reads clush.conf (file, or every standard location) and the
// *.conf files of its confdir directories; it returns [Main] over the
// defaults and every section read.
func loadConfig(file string) (config, *iniData, error) {
	data := newINIData()
	data.sections["Main"], data.order = defaultConfig(), []string{"Main"}
	paths := clushConfPaths()
	if file != "" {
		paths = []string{file}
	}
	last := ""
	for _, p := range paths {
		ok, err := readINI(p, data)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			last = p
		}
	}
	if confdirs, ok := data.sections["Main"]["confdir"]; ok && last != "" {
		dirs, err := exec.Split(confdirs)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: (Config Main.confdir): %v", errConfig, err)
		}
		seen := map[string]bool{}
		for _, d := range dirs {
			d = filepath.Clean(strings.ReplaceAll(strings.ReplaceAll(d, "${CFGDIR}", filepath.Dir(last)), "$CFGDIR", filepath.Dir(last)))
			if seen[d] {
				continue
			}
			seen[d] = true
			fi, err := os.Stat(d)
			if err != nil {
				continue
			}
			if !fi.IsDir() {
				return nil, nil, fmt.Errorf("%w: Defined confdir %s is not a directory", errConfig, d)
			}
			files, _ := filepath.Glob(filepath.Join(d, "*.conf"))
			for _, f := range files { // Glob sorts
				if _, err := readINI(f, data); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	return data.sections["Main"], data, nil
}

// modeKeys are the keys a run mode ([mode:NAME]) overrides, even over the
// command line, as in clush (fanout, node_count and color are read before
// the mode is applied there, so a mode does not change them).
var modeKeys = []string{"connect_timeout", "command_timeout", "maxrc", "command_prefix", "password_prompt",
	"ssh_user", "ssh_path", "ssh_options", "scp_path", "scp_options", "scp_user",
	"rsh_path", "rcp_path", "rsh_options", "rsh_user", "rcp_options", "pdsh_path", "pdcp_path", "rpdcp_path"}

// setMode applies run mode name from data to c and o.
func (c config) setMode(name string, data *iniData, o *options) error {
	mode, ok := data.sections["mode:"+name]
	if !ok {
		var names []string
		for _, s := range data.order {
			if m, ok := strings.CutPrefix(s, "mode:"); ok {
				names = append(names, m)
			}
		}
		return fmt.Errorf("%w: invalid mode \"%s\" (available: %s)", errConfig, name, strings.Join(names, " "))
	}
	for _, k := range modeKeys {
		if v, ok := mode[k]; ok {
			c[k] = v
		}
	}
	var err error
	if o.connTimeout, err = c.float("connect_timeout"); err != nil {
		return err
	}
	if o.cmdTimeout, err = c.float("command_timeout"); err != nil {
		return err
	}
	o.user, o.sshOptions = c["ssh_user"], c["ssh_options"]
	return nil
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
