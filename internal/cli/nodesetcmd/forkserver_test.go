package nodesetcmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Starting Python and importing ClusterShell costs about 0.1 s per run of
// the reference tool, which makes a corpus of thousands of cases take
// minutes on a busy machine. The fork server below imports the installed
// tool's own entry point (ClusterShell.CLI.Nodeset.main, what
// /usr/bin/nodeset calls) once, then forks a fresh child per case with the
// case's arguments and standard streams: every case still runs the real
// tool's code in its own process, from a clean state, but without paying
// the interpreter start-up. NODESET_COMPAT_EXEC=1 runs the tool itself
// instead.

const forkServerScript = `
import base64, io, json, os, sys, traceback
tool, tmp = sys.argv[1], sys.argv[2]
from ClusterShell.CLI.Nodeset import main as tool_main
streams = {n: (getattr(sys, n).encoding, getattr(sys, n).errors) for n in ("stdin", "stdout", "stderr")}
pin, pout, perr = (os.path.join(tmp, n) for n in ("in", "out", "err"))
reqs, resps = sys.stdin.buffer, sys.stdout.buffer
def wrap(fd, name, mode, **kw):
    enc, err = streams[name]
    return io.TextIOWrapper(io.open(fd, mode, closefd=False), encoding=enc, errors=err, **kw)
for line in reqs:
    req = json.loads(line)
    data = base64.b64decode(req["stdin"]) if req["stdin"] is not None else None
    if data is not None:
        with open(pin, "wb") as f:
            f.write(data)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            fds = [os.open(pin if data is not None else os.devnull, os.O_RDONLY),
                   os.open(pout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                   os.open(perr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
            for i, fd in enumerate(fds):
                os.dup2(fd, i)
                os.close(fd)
            sys.stdin = wrap(0, "stdin", "rb")
            sys.stdout = wrap(1, "stdout", "wb")
            sys.stderr = wrap(2, "stderr", "wb", line_buffering=True)
            sys.argv = [tool] + [os.fsdecode(base64.b64decode(a)) for a in req["args"]]
            try:
                tool_main()
            except SystemExit as e:
                if e.code is None:
                    code = 0
                elif isinstance(e.code, int):
                    code = e.code
                else:
                    print(e.code, file=sys.stderr)
                    code = 1
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            code = 125
        os._exit(code & 0xff)
    _, status = os.waitpid(pid, 0)
    out = {"code": os.waitstatus_to_exitcode(status)}
    for key, path in (("stdout", pout), ("stderr", perr)):
        with open(path, "rb") as f:
            out[key] = base64.b64encode(f.read()).decode()
    resps.write(json.dumps(out).encode() + b"\n")
    resps.flush()
`

// forkServer is one running fork server.
type forkServer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// pythonOf returns the interpreter of a Python script (its #! line), or ""
// when tool is not one.
func pythonOf(tool string) string {
	f, err := os.Open(tool)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if !strings.HasPrefix(line, "#!") || !strings.Contains(line, "python") {
		return ""
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return ""
	}
	if strings.HasSuffix(fields[0], "/env") && len(fields) > 1 {
		p, err := exec.LookPath(fields[1])
		if err != nil {
			return ""
		}
		return p
	}
	return fields[0]
}

// startForkServer starts a fork server for tool; the server keeps each
// case's standard streams in files under dir, which the caller owns and
// removes.
func startForkServer(tool string, env map[string]string, dir string) (*forkServer, error) {
	py := pythonOf(tool)
	if py == "" {
		return nil, errors.New("reference tool is not a Python script")
	}
	cmd := exec.Command(py, "-c", forkServerScript, tool, dir)
	cmd.Env = mergeEnv(env)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &forkServer{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	// A first trivial request proves that the server works.
	if _, err := s.run(compatCase{args: []string{"-c", "n1"}}); err != nil {
		s.close()
		return nil, fmt.Errorf("fork server: %w (%s)", err, stderr.String())
	}
	return s, nil
}

func (s *forkServer) run(c compatCase) (result, error) {
	// Arguments travel as bytes (JSON strings would mangle bytes that are
	// not UTF-8); the server decodes them as Python decodes argv.
	req := struct {
		Args  [][]byte `json:"args"`
		Stdin *[]byte  `json:"stdin"`
	}{Args: [][]byte{}}
	for _, a := range c.args {
		req.Args = append(req.Args, []byte(a))
	}
	if c.stdin != nil {
		b := []byte(*c.stdin)
		req.Stdin = &b
	}
	b, err := json.Marshal(req)
	if err != nil {
		return result{}, err
	}
	if _, err := s.in.Write(append(b, '\n')); err != nil {
		return result{}, err
	}
	line, err := s.out.ReadBytes('\n')
	if err != nil {
		return result{}, err
	}
	var resp cached
	if err := json.Unmarshal(line, &resp); err != nil {
		return result{}, err
	}
	return result{string(resp.Stdout), string(resp.Stderr), resp.Code}, nil
}

func (s *forkServer) close() {
	s.in.Close()
	_ = s.cmd.Wait()
}
