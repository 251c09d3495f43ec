package nodeset

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// groupsMainSection is the section of groups.conf holding global keys.
const groupsMainSection = "Main"

// GroupsConfigPaths returns the groups.conf locations LoadDefaultGroups
// reads, in order (later files override earlier ones), as ClusterShell 1.9
// computes them from the environment.
func GroupsConfigPaths() []string {
	return groupsConfigPaths(os.LookupEnv)
}

func groupsConfigPaths(getenv func(string) (string, bool)) []string {
	const name = "groups.conf"
	paths := []string{filepath.Join("/etc/clustershell", name)}
	home, haveHome := getenv("HOME")
	if haveHome {
		paths = append(paths, pyJoin(home, ".local/etc/clustershell", name))
	}
	if xdg, ok := getenv("XDG_CONFIG_HOME"); ok {
		paths = append(paths, pyJoin(xdg, "clustershell", name))
	} else if haveHome {
		paths = append(paths, pyJoin(home, ".config", "clustershell", name))
	}
	if dir, ok := getenv("CLUSTERSHELL_CFGDIR"); ok {
		paths = append(paths, pyJoin(dir, name))
	}
	return paths
}

// pyJoin joins path elements as Python's os.path.join does for relative
// parts: an empty first element gives a relative path (XDG_CONFIG_HOME=""
// means "clustershell/groups.conf" in the current directory, as in
// ClusterShell), and nothing is cleaned.
func pyJoin(elem ...string) string {
	out := ""
	for _, e := range elem {
		switch {
		case strings.HasPrefix(e, "/"):
			out = e
		case out == "" || strings.HasSuffix(out, "/"):
			out += e
		default:
			out += "/" + e
		}
	}
	return out
}

// LoadDefaultGroups loads the group sources from the standard groups.conf
// locations (see GroupSources and GroupsConfigPaths), merging every file
// found. When none exists it returns empty sources and no error.
func LoadDefaultGroups() (*GroupSources, error) {
	return loadGroupsFiles(GroupsConfigPaths(), false)
}

// LoadGroupsConfig loads the group sources from one groups.conf file, as
// ClusterShell's --groupsconf does. A missing file is an error wrapping
// fs.ErrNotExist (ClusterShell silently uses no groups instead).
func LoadGroupsConfig(path string) (*GroupSources, error) {
	return loadGroupsFiles([]string{path}, true)
}

// loadGroupsFiles reads every readable file of paths into one INI
// configuration and builds the sources from it. Unreadable files are
// skipped, like configparser's read(), unless mustExist.
func loadGroupsFiles(paths []string, mustExist bool) (*GroupSources, error) {
	gs := newGroupSources()
	ini := newINIFile()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			if mustExist {
				return nil, &GroupsConfigError{File: p, Msg: "cannot read groups.conf", Err: err}
			}
			if !errors.Is(err, fs.ErrNotExist) {
				slog.Debug("nodeset: skipping unreadable groups.conf", "file", p, "err", err)
			}
			continue
		}
		if err := ini.read(p, data); err != nil {
			return nil, err
		}
		gs.files = append(gs.files, p)
	}
	if len(gs.files) == 0 {
		return gs, nil
	}
	cfgDir := pyDirname(gs.files[len(gs.files)-1])
	if err := gs.configure(ini, cfgDir); err != nil {
		return nil, err
	}
	return gs, nil
}

// configure builds the sources: confdir parts, then autodir YAML files,
// then the sections of groups.conf, then picks the default source.
func (gs *GroupSources) configure(ini *iniFile, cfgDir string) error {
	confKey := "confdir"
	if _, ok := ini.raw(groupsMainSection, "groupsdir"); ok {
		confKey = "groupsdir"
	}
	dirs, err := gs.mainDirs(ini, confKey, cfgDir)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		files, err := dirFiles(dir, ".conf")
		if err != nil { // Python's glob ignores directories it cannot list
			slog.Debug("nodeset: skipping unreadable confdir", "dir", dir, "err", err)
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				slog.Debug("nodeset: skipping unreadable group source file", "file", f, "err", err)
				continue // as ClusterShell: files that cannot be read are ignored
			}
			part := newINIFile()
			if err := part.read(f, data); err != nil {
				return err
			}
			gs.files = append(gs.files, f)
			if err := gs.upcallSources(part, dir); err != nil {
				return err
			}
		}
	}

	dirs, err = gs.mainDirs(ini, "autodir", cfgDir)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		files, err := dirFiles(dir, ".yaml")
		if err != nil { // Python's glob ignores directories it cannot list
			slog.Debug("nodeset: skipping unreadable autodir", "dir", dir, "err", err)
			continue
		}
		for _, f := range files {
			loader, err := loadYAMLGroups(f, DefaultGroupsCacheTime, gs)
			if errors.Is(err, fs.ErrPermission) {
				slog.Debug("nodeset: skipping unreadable YAML group file", "file", f, "err", err)
				continue // as ClusterShell: YAML files we may not read are ignored
			}
			if err != nil {
				return err
			}
			gs.files = append(gs.files, f)
			for _, name := range loader.names {
				if err := gs.add(name, &yamlSource{name: name, loader: loader}); err != nil {
					return &GroupsConfigError{File: f, Msg: err.Error()}
				}
			}
		}
	}

	if err := gs.upcallSources(ini, cfgDir); err != nil {
		return err
	}

	def, ok, err := ini.get(groupsMainSection, "default")
	if err != nil {
		return err
	}
	if ok && def != "" {
		if _, exists := gs.sources[def]; !exists {
			file, line := ini.where(groupsMainSection, "default")
			return &GroupsConfigError{File: file, Line: line,
				Msg: fmt.Sprintf("default group source %q is not defined (sources: %s)", def, strings.Join(gs.order, ", "))}
		}
		gs.defaultName = def
	}
	if gs.defaultName == "" && len(gs.order) > 0 {
		gs.defaultName = gs.order[0]
	}
	return nil
}

// mainDirs returns the directories listed in [Main] key: shell-split,
// $CFGDIR expanded, cleaned, each once, and only those that exist. A path
// that exists but is not a directory is an error, as in ClusterShell.
func (gs *GroupSources) mainDirs(ini *iniFile, key, cfgDir string) ([]string, error) {
	if !ini.hasSection(groupsMainSection) {
		return nil, nil
	}
	val, ok, err := ini.get(groupsMainSection, key)
	if err != nil || !ok {
		return nil, err
	}
	file, line := ini.where(groupsMainSection, key)
	words, err := shellSplit(val)
	if err != nil {
		return nil, &GroupsConfigError{File: file, Line: line, Msg: fmt.Sprintf("[Main] %s: %v", key, err)}
	}
	seen := map[string]bool{}
	var dirs []string
	for _, w := range words {
		dir := filepath.Clean(safeSubstitute(w, map[string]string{"CFGDIR": cfgDir}))
		if seen[dir] {
			continue
		}
		seen[dir] = true
		fi, err := os.Stat(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, &GroupsConfigError{File: file, Line: line, Msg: fmt.Sprintf("[Main] %s: cannot use %s", key, dir), Err: err}
		}
		if !fi.IsDir() {
			return nil, &GroupsConfigError{File: file, Line: line, Msg: fmt.Sprintf("[Main] %s: %s is not a directory", key, dir)}
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// dirFiles lists dir/*suffix as Python's glob does (hidden names excluded),
// sorted.
func dirFiles(dir, suffix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, suffix) {
			continue
		}
		out = append(out, pyJoin(dir, n))
	}
	sort.Strings(out)
	return out, nil
}

// upcallSources adds one upcall source per name of each section of ini
// ([Main] excepted); cfgDir is $CFGDIR and the commands' directory.
func (gs *GroupSources) upcallSources(ini *iniFile, cfgDir string) error {
	for _, sect := range ini.sections {
		for _, name := range strings.Split(sect.name, ",") {
			if name == groupsMainSection {
				continue
			}
			src := &upcallSource{name: name, cfgDir: cfgDir, cacheTime: DefaultGroupsCacheTime.Seconds(), upcalls: map[string]string{}}
			for _, key := range []string{"map", "all", "list", "reverse"} {
				if v, ok := ini.raw(sect.name, key); ok && v != "" {
					src.upcalls[key] = v
				}
			}
			if _, ok := ini.raw(sect.name, "map"); !ok {
				return &GroupsConfigError{File: sect.headerFile, Line: sect.headerLine,
					Msg: fmt.Sprintf("section [%s]: group source %q has no map upcall (map is required)", sect.name, name)}
			}
			if v, ok := ini.raw(sect.name, "cache_time"); ok {
				ct, err := parsePyFloat(v)
				if err != nil {
					file, line := ini.where(sect.name, "cache_time")
					return &GroupsConfigError{File: file, Line: line,
						Msg: fmt.Sprintf("section [%s]: cache_time %q is not a number of seconds", sect.name, v)}
				}
				src.cacheTime = ct
			}
			src.clearCache()
			if err := gs.add(name, src); err != nil {
				return &GroupsConfigError{File: sect.headerFile, Line: sect.headerLine, Msg: err.Error()}
			}
		}
	}
	return nil
}

// parsePyFloat parses a number as Python's float() does for the values
// found in configuration files (surrounding whitespace, "inf", "nan").
func parsePyFloat(s string) (float64, error) {
	t := pyStrip(s)
	if strings.ContainsAny(t, "xXpP") { // Go accepts hex floats; Python does not
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(t, 64)
}

// cacheExpiry returns now plus secs seconds; ok is false when the entry
// never expires (infinite, NaN or beyond time's range), which is how
// ClusterShell's float comparison treats those values.
func cacheExpiry(now time.Time, secs float64) (time.Time, bool) {
	if secs != secs || secs > float64(1<<62)/1e9 {
		return time.Time{}, false
	}
	if secs < -float64(1<<62)/1e9 {
		secs = -float64(1<<62) / 1e9
	}
	return now.Add(time.Duration(secs * float64(time.Second))), true
}
