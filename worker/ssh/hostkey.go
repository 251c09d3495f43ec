package sshworker

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys verifies host keys against known_hosts files for one Client. It
// caches each parsed set of files and serialises additions (accept-new),
// so that concurrent connections to new hosts append each host once.
type hostKeys struct {
	mu    sync.Mutex
	dbs   map[string]ssh.HostKeyCallback // by joined file list
	added map[string]addedKey            // lookup name -> key this Client appended
}

type addedKey struct {
	key  ssh.PublicKey
	file string
	line int
}

func newHostKeys() *hostKeys {
	return &hostKeys{dbs: map[string]ssh.HostKeyCallback{}, added: map[string]addedKey{}}
}

// probeKey returns a key no known_hosts holds; checking it lists the known
// keys. It is made on first use, not at start-up: every muster command
// links this package, and most never check a host key.
var probeKey = sync.OnceValue(func() ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return k
})

// existing returns the files of the list that exist.
func existing(files []string) []string {
	var out []string
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
			out = append(out, f)
		}
	}
	return out
}

// db returns the callback for the files that exist among files; the
// caller holds hk.mu.
func (hk *hostKeys) db(files []string) (ssh.HostKeyCallback, error) {
	files = existing(files)
	key := strings.Join(files, "\x00")
	if cb, ok := hk.dbs[key]; ok {
		return cb, nil
	}
	var cb ssh.HostKeyCallback
	if len(files) == 0 {
		cb = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
	} else {
		var err error
		if cb, err = knownhosts.New(files...); err != nil {
			if cb, err = lenientKnownHosts(files); err != nil {
				return nil, fmt.Errorf("known_hosts: %w", err)
			}
		}
	}
	hk.dbs[key] = cb
	return cb, nil
}

// badLine matches knownhosts' parse errors: "knownhosts: FILE:LINE: ...".
var badLine = regexp.MustCompile(`^knownhosts: (.*):(\d+): `)

// lenientKnownHosts loads files skipping the lines knownhosts cannot parse
// (a key type it does not know, a damaged line), as ssh(1) skips them, and
// logs each. Line numbers in errors still refer to the original files.
func lenientKnownHosts(files []string) (ssh.HostKeyCallback, error) {
	tmpDir, err := os.MkdirTemp("", "muster-known-hosts-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmpDir)
	paths := make([]string, len(files))
	rename := map[string]string{} // sanitized copy -> original
	for i, f := range files {
		paths[i] = f
		if _, err := knownhosts.New(f); err == nil {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(string(data), "\n")
		tmp := filepath.Join(tmpDir, strconv.Itoa(i))
		for range lines {
			if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
				return nil, err
			}
			_, err := knownhosts.New(tmp)
			if err == nil {
				break
			}
			m := badLine.FindStringSubmatch(err.Error())
			n, _ := strconv.Atoi(valueAt(m, 2))
			if m == nil || m[1] != tmp || n < 1 || n > len(lines) {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			logger().Warn("known_hosts line skipped", "file", f, "line", n, "err", err)
			lines[n-1] = "#" // keep the numbering
		}
		paths[i] = tmp
		rename[tmp] = f
	}
	cb, err := knownhosts.New(paths...)
	if err != nil {
		return nil, err
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			for i := range ke.Want {
				if orig, ok := rename[ke.Want[i].Filename]; ok {
					ke.Want[i].Filename = orig
				}
			}
		}
		var re *knownhosts.RevokedError
		if errors.As(err, &re) {
			if orig, ok := rename[re.Revoked.Filename]; ok {
				re.Revoked.Filename = orig
			}
		}
		return err
	}, nil
}

func valueAt(m []string, i int) string {
	if i < len(m) {
		return m[i]
	}
	return ""
}

// lookupName returns the host:port under which known_hosts is searched,
// and its known_hosts spelling.
func lookupName(h *HostConfig) (addr, display string) {
	if h.HostKeyAlias != "" {
		addr = joinHostPort(h.HostKeyAlias, 22)
	} else {
		addr = h.Addr()
	}
	return addr, knownhosts.Normalize(addr)
}

// algorithms returns the host key algorithms matching the keys known for
// h, in file order (so that a server with several host keys shows the one
// known_hosts has, as ssh(1) does), or nil when none is known.
func (hk *hostKeys) algorithms(h *HostConfig) []string {
	hk.mu.Lock()
	defer hk.mu.Unlock()
	files := append(append([]string{}, h.UserKnownHostsFiles...), h.GlobalKnownHostsFiles...)
	cb, err := hk.db(files)
	if err != nil {
		return nil
	}
	addr, name := lookupName(h)
	var types []string
	if err := cb(addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}, probeKey()); err != nil {
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			for _, k := range ke.Want {
				types = append(types, k.Key.Type())
			}
		}
	}
	if a, ok := hk.added[name]; ok {
		types = append(types, a.key.Type())
	}
	var algos []string
	seen := map[string]bool{}
	for _, t := range types {
		list := []string{t}
		if t == ssh.KeyAlgoRSA {
			list = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, a := range list {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// callback returns the HostKeyCallback enforcing h's policy. The dial
// address given to ssh must be the lookup address (see lookupName).
func (hk *hostKeys) callback(h *HostConfig) ssh.HostKeyCallback {
	files := append(append([]string{}, h.UserKnownHostsFiles...), h.GlobalKnownHostsFiles...)
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		hk.mu.Lock()
		defer hk.mu.Unlock()
		cb, err := hk.db(files)
		if err != nil {
			return err
		}
		_, name := lookupName(h)
		herr := &HostKeyError{
			Host:        name,
			KeyType:     key.Type(),
			Fingerprint: ssh.FingerprintSHA256(key),
			Files:       files,
			Policy:      h.StrictHostKeyChecking.String(),
		}
		err = cb(hostname, remote, key)
		if err == nil {
			return nil
		}
		var revoked *knownhosts.RevokedError
		if errors.As(err, &revoked) {
			herr.Revoked = true
			herr.Known = []string{fmt.Sprintf("%s:%d", revoked.Revoked.Filename, revoked.Revoked.Line)}
			return herr
		}
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) {
			return fmt.Errorf("known_hosts check for %s: %w", name, err)
		}
		for _, w := range ke.Want {
			herr.Known = append(herr.Known, fmt.Sprintf("%s:%d", w.Filename, w.Line))
		}
		if a, ok := hk.added[name]; ok {
			if bytes.Equal(a.key.Marshal(), key.Marshal()) {
				return nil
			}
			herr.Known = append(herr.Known, fmt.Sprintf("%s:%d", a.file, a.line))
		}
		if len(herr.Known) > 0 {
			herr.Mismatch = true
			if h.StrictHostKeyChecking == NoCheck {
				logger().Warn("host key changed; connecting anyway because StrictHostKeyChecking=no",
					"host", name, "key", herr.Fingerprint, "known", herr.Known)
				return nil
			}
			return herr
		}
		if h.StrictHostKeyChecking == Strict {
			return herr
		}
		if len(h.UserKnownHostsFiles) == 0 {
			return herr
		}
		file, line, err := appendKnownHost(h.UserKnownHostsFiles[0], name, key, h.HashKnownHosts)
		if err != nil {
			return fmt.Errorf("adding host key of %s (StrictHostKeyChecking=%s): %w", name, h.StrictHostKeyChecking, err)
		}
		// later checks find it in added (no need to parse the file again)
		hk.added[name] = addedKey{key: key, file: file, line: line}
		logger().Info("host key added to known_hosts", "host", name, "key", herr.Fingerprint, "file", file, "line", line)
		return nil
	}
}

// appendKnownHost appends a known_hosts line for name and returns the line
// number written.
func appendKnownHost(file, name string, key ssh.PublicKey, hash bool) (string, int, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return file, 0, err
	}
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return file, 0, err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return file, 0, err
	}
	host := name
	if hash {
		host = knownhosts.HashHostname(name)
	}
	line := knownhosts.Line([]string{host}, key)
	if hash {
		// Line normalizes its input; a hashed name is already final
		line = host + " " + strings.SplitN(line, " ", 2)[1]
	}
	prefix := ""
	if len(old) > 0 && old[len(old)-1] != '\n' {
		prefix = "\n"
	}
	_, werr := f.WriteString(prefix + line + "\n")
	cerr := f.Close()
	if werr != nil {
		return file, 0, werr
	}
	return file, bytes.Count(old, []byte("\n")) + len(prefix) + 1, cerr
}
