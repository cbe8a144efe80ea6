// Package peer runs the two implementations of the djsession machine
// protocol (shared/CLI_PROTOCOL.md) from tests: real Django (3.2 by default;
// 4.2 and 5.2 through DjangoAt), through the Python script
// testdata/django_peer.py, and the Go CLI cmd/djsession. Both
// answer with the same Result type, so an interoperability test can let one
// side write and the other read, in both directions.
//
// It is imported only by _test.go files. Django starts in about 0.3 s, so
// tests that need many calls use Batch or Start, which keep one Python
// process per configuration instead of one per call.
package peer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

// Python is the interpreter that has Debian's python3-django (3.2) and the
// database and cache client libraries; the pyenv python3 on PATH has none.
// The environment variable DJS_PYTHON overrides it.
const Python = "/usr/bin/python3"

// PeerRoot is where scripts/setup.sh unpacks the Django releases that
// Debian 12 does not ship, one tree per release (django-4.2, django-5.2); the
// environment variable DJS_PEER_ROOT overrides it.
const PeerRoot = "/opt/djsession-peers"

// Versions returns the Django releases the live tests can pair with:
// Debian 12's python3-django first, then those under PeerRoot.
func Versions() []string { return []string{"3.2", "4.2", "5.2"} }

// callTimeout bounds one protocol call; a hung peer fails the test instead
// of hanging the whole suite until go test's global timeout.
const callTimeout = 2 * time.Minute

var batchAnswer = regexp.MustCompile(`^\{"rc":(\d+),"out":(\{.*\})\}$`)

// Exit codes of the protocol.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitUnsupported = 3
)

// Result is one protocol answer: the exit code and the one JSON line the
// implementation printed on stdout.
type Result struct {
	// RC is the exit code (ExitOK, ExitError, ExitUsage, ExitUnsupported).
	RC int
	// Stdout is the JSON object, without the trailing newline, exactly as
	// printed (kept as bytes so that 3 and 3.0, or key order, stay visible).
	Stdout []byte
	// Stderr is what the implementation logged; empty in batch mode.
	Stderr string
}

// String renders the result for test failure messages.
func (r Result) String() string {
	s := fmt.Sprintf("rc=%d %s", r.RC, r.Stdout)
	if r.Stderr != "" {
		s += "\nstderr: " + strings.TrimSpace(r.Stderr)
	}
	return s
}

// OK fails the test unless the exit code is 0; it returns r for chaining.
func (r Result) OK(tb testing.TB) Result {
	tb.Helper()
	if r.RC != ExitOK {
		tb.Fatalf("peer: want exit 0, got %s", r)
	}
	return r
}

// Value decodes Stdout type-exactly (ints, floats, big ints, key order,
// lone surrogates) into a *pyvalue.Dict.
func (r Result) Value(tb testing.TB) *pyvalue.Dict {
	tb.Helper()
	v, err := pyvalue.UnmarshalJSONText(r.Stdout)
	if err != nil {
		tb.Fatalf("peer: stdout is not JSON (%v): %s", err, r)
	}
	d, ok := v.(*pyvalue.Dict)
	if !ok {
		tb.Fatalf("peer: stdout is not a JSON object: %s", r)
	}
	return d
}

// Map decodes Stdout with encoding/json, numbers as json.Number so that
// integers and floats remain distinguishable by their text.
func (r Result) Map(tb testing.TB) map[string]any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Stdout))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Fatalf("peer: stdout is not a JSON object (%v): %s", err, r)
	}
	return m
}

// Get returns the value of key in the decoded Stdout (see Value), failing
// the test when it is absent.
func (r Result) Get(tb testing.TB, key string) any {
	tb.Helper()
	v, ok := r.Value(tb).Get(key)
	if !ok {
		tb.Fatalf("peer: no %q in %s", key, r)
	}
	return v
}

// Str returns the string value of key, failing the test otherwise.
func (r Result) Str(tb testing.TB, key string) string {
	tb.Helper()
	return field[string](tb, r, key, "a string")
}

// Bool returns the boolean value of key, failing the test otherwise.
func (r Result) Bool(tb testing.TB, key string) bool {
	tb.Helper()
	return field[bool](tb, r, key, "a boolean")
}

// Int returns the integer value of key (it must fit in an int64).
func (r Result) Int(tb testing.TB, key string) int64 {
	tb.Helper()
	return field[int64](tb, r, key, "an int64")
}

// Float returns the float value of key; a JSON integer is not accepted.
func (r Result) Float(tb testing.TB, key string) float64 {
	tb.Helper()
	return field[float64](tb, r, key, "a float")
}

// Dict returns the object value of key, failing the test otherwise.
func (r Result) Dict(tb testing.TB, key string) *pyvalue.Dict {
	tb.Helper()
	return field[*pyvalue.Dict](tb, r, key, "an object")
}

// field is the value of key as a T, failing the test when it is another
// type (what names T in the message).
func field[T any](tb testing.TB, r Result, key, what string) T {
	tb.Helper()
	v, ok := r.Get(tb, key).(T)
	if !ok {
		tb.Fatalf("peer: %q is not %s in %s", key, what, r)
	}
	return v
}

// Call is one protocol invocation.
type Call struct {
	// Config replaces the configuration of the batch for this call when
	// non-nil (it is not merged).
	Config map[string]any
	// Sub is the subcommand, Args its arguments.
	Sub  string
	Args []string
	// Stdin is the JSON object given on stdin, or nil for none. A []byte or
	// json.RawMessage is sent as is; anything else is encoded with
	// encoding/json, which writes the float 3.0 as 3 and -0.0 as -0: pass
	// raw JSON when float-versus-int matters.
	Stdin any
}

// Impl is one implementation of the protocol: the Django peer or the Go CLI.
type Impl struct {
	name string
	// argv is the command line before [--config ...] SUBCOMMAND.
	argv []string
	// env is added to the environment of every process.
	env []string
	// batch reports whether the implementation has the peer's batch mode.
	batch bool
}

// Name is "go", "django" (3.2) or "django-X.Y".
func (im *Impl) Name() string { return im.name }

// String is Name.
func (im *Impl) String() string { return im.name }

// Django returns the Python peer running real Django 3.2, after Require.
func Django(tb testing.TB) *Impl {
	tb.Helper()
	Require(tb)
	return &Impl{name: "django", argv: []string{python(), Script(tb)}, batch: true}
}

// DjangoAt returns the Python peer running Django release v, one of
// Versions, after RequireVersion: the same interpreter and client
// libraries, with the release's tree first on PYTHONPATH.
func DjangoAt(tb testing.TB, v string) *Impl {
	tb.Helper()
	if v == "3.2" {
		return Django(tb)
	}
	RequireVersion(tb, v)
	return &Impl{name: "django-" + v, argv: []string{python(), Script(tb)}, env: versionEnv(v), batch: true}
}

// RequireVersion is Require for Django release v: the test stops (a
// failure under CI=true) when that release does not import.
func RequireVersion(tb testing.TB, v string) {
	tb.Helper()
	Require(tb)
	if v == "3.2" {
		return
	}
	if err := versionOK(v); err != nil {
		testenv.Need(tb, "the Django "+v+" peer (run scripts/setup.sh: "+err.Error()+")")
	}
}

// versionEnv is the environment that selects Django release v.
func versionEnv(v string) []string {
	root := os.Getenv("DJS_PEER_ROOT")
	if root == "" {
		root = PeerRoot
	}
	return []string{"PYTHONPATH=" + filepath.Join(root, "django-"+v, "usr", "lib", "python3", "dist-packages")}
}

// command is exec.Command with the implementation's environment.
func (im *Impl) command(ctx context.Context, argv []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if len(im.env) > 0 {
		cmd.Env = append(os.Environ(), im.env...)
	}
	return cmd
}

// CLI returns the Go implementation: cmd/djsession, built once per test
// process.
func CLI(tb testing.TB) *Impl {
	tb.Helper()
	return &Impl{name: "go", argv: []string{buildCLI(tb)}}
}

// Run runs one subcommand of the Django peer. See (*Impl).Run.
func Run(tb testing.TB, cfg map[string]any, sub string, args []string, stdin any) Result {
	tb.Helper()
	return Django(tb).Run(tb, cfg, sub, args, stdin)
}

// Batch runs calls in order in one Django peer process. See (*Impl).Batch.
func Batch(tb testing.TB, cfg map[string]any, calls []Call) []Result {
	tb.Helper()
	return Django(tb).Batch(tb, cfg, calls)
}

// Run runs one subcommand in a process of its own: cfg (nil for none) is
// given inline with --config, stdin as described for Call.Stdin.
func (im *Impl) Run(tb testing.TB, cfg map[string]any, sub string, args []string, stdin any) Result {
	tb.Helper()
	argv := append([]string(nil), im.argv...)
	if cfg != nil {
		argv = append(argv, "--config", string(mustJSON(tb, cfg)))
	}
	argv = append(argv, sub)
	argv = append(argv, args...)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	cmd := im.command(ctx, argv)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdinJSON(tb, stdin))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
	default:
		tb.Fatalf("peer(%s): %s: %v\nstderr: %s", im.name, sub, err, stderr.String())
	}
	out := bytes.TrimRight(stdout.Bytes(), "\n")
	if bytes.Contains(out, []byte("\n")) {
		tb.Fatalf("peer(%s): %s printed more than one line:\n%s", im.name, sub, out)
	}
	return Result{RC: cmd.ProcessState.ExitCode(), Stdout: out, Stderr: stderr.String()}
}

// Batch runs calls in order; a call's Config, when set, replaces cfg. For
// the Django peer every call goes through one batch process (plus one child
// per distinct configuration); the Go CLI, which starts in milliseconds,
// runs one process per call.
func (im *Impl) Batch(tb testing.TB, cfg map[string]any, calls []Call) []Result {
	tb.Helper()
	p := im.Start(tb, cfg)
	defer p.Close()
	res := make([]Result, len(calls))
	for i, c := range calls {
		res[i] = p.Do(tb, c)
	}
	return res
}

// Proc is a running session of calls against one implementation, for tests
// whose next call depends on the previous answer (write, then read the key
// it returned). It is safe for use by one goroutine at a time.
type Proc struct {
	im  *Impl
	cfg map[string]any

	mu     sync.Mutex
	cmd    *exec.Cmd // nil for implementations without batch mode
	stdin  io.WriteCloser
	lines  chan []byte // stdout lines, closed at EOF
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	closed bool
}

// Start begins a Proc with configuration cfg; it is closed automatically
// when the test ends.
func (im *Impl) Start(tb testing.TB, cfg map[string]any) *Proc {
	tb.Helper()
	p := &Proc{im: im, cfg: cfg}
	tb.Cleanup(func() {
		p.Close()
		if tb.Failed() && p.stderr != nil && p.stderr.Len() > 0 {
			tb.Logf("peer(%s) stderr:\n%s", im.name, p.stderr.Tail(4000))
		}
	})
	if !im.batch {
		return p
	}
	argv := append([]string(nil), im.argv...)
	if cfg != nil {
		argv = append(argv, "--config", string(mustJSON(tb, cfg)))
	}
	argv = append(argv, "batch")
	p.cmd = im.command(context.Background(), argv)
	p.stderr = &syncBuffer{}
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		tb.Fatalf("peer(%s): %v", im.name, err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("peer(%s): %v", im.name, err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("peer(%s): start batch: %v", im.name, err)
	}
	p.lines = make(chan []byte, 1)
	p.done = make(chan struct{})
	go func() {
		defer close(p.lines)
		r := bufio.NewReaderSize(stdout, 1<<16)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				p.lines <- bytes.TrimRight(line, "\n")
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// Do performs one call and returns its answer.
func (p *Proc) Do(tb testing.TB, c Call) Result {
	tb.Helper()
	if p.cmd == nil {
		cfg := p.cfg
		if c.Config != nil {
			cfg = c.Config
		}
		return p.im.Run(tb, cfg, c.Sub, c.Args, c.Stdin)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		tb.Fatalf("peer(%s): Do after Close", p.im.name)
	}
	args := c.Args
	if args == nil {
		args = []string{}
	}
	// Built by hand rather than through json.RawMessage: stdin may hold
	// Python's NaN and Infinity, which encoding/json refuses as invalid.
	line := []byte(`{"cmd":`)
	line = append(line, mustJSON(tb, c.Sub)...)
	line = append(line, `,"args":`...)
	line = append(line, mustJSON(tb, args)...)
	if c.Config != nil {
		line = append(line, `,"config":`...)
		line = append(line, mustJSON(tb, c.Config)...)
	}
	if c.Stdin != nil {
		line = append(line, `,"stdin":`...)
		line = append(line, bytes.ReplaceAll(stdinJSON(tb, c.Stdin), []byte("\n"), []byte(" "))...)
	}
	line = append(line, "}\n"...)
	if _, err := p.stdin.Write(line); err != nil {
		tb.Fatalf("peer(%s): write to batch: %v\nstderr: %s", p.im.name, err, p.stderr.Tail(4000))
	}
	var answer []byte
	select {
	case l, ok := <-p.lines:
		if !ok {
			tb.Fatalf("peer(%s): batch process ended early\nstderr: %s", p.im.name, p.stderr.Tail(4000))
		}
		answer = l
	case <-time.After(callTimeout):
		tb.Fatalf("peer(%s): %s: no answer within %v", p.im.name, c.Sub, callTimeout)
	}
	// The answer is exactly {"rc":N,"out":OBJECT}; split it textually since
	// OBJECT may hold NaN, which encoding/json refuses.
	m := batchAnswer.FindSubmatch(answer)
	if m == nil {
		tb.Fatalf("peer(%s): bad batch answer %q", p.im.name, answer)
	}
	rc, _ := strconv.Atoi(string(m[1]))
	return Result{RC: rc, Stdout: m[2]}
}

// Close ends the process (the Django peer's batch process and its
// children). It is idempotent.
func (p *Proc) Close() {
	if p.cmd == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	_ = p.stdin.Close() // EOF: the batch process closes its children and exits
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Require stops the test when the Django peer cannot run: /usr/bin/python3
// missing or without Django. Under CI=true that is a failure, otherwise a
// skip.
func Require(tb testing.TB) {
	tb.Helper()
	if err := pythonOK(); err != nil {
		testenv.Need(tb, "the Django peer ("+err.Error()+")")
	}
	Script(tb)
}

// Script returns the path of testdata/django_peer.py in this module.
func Script(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(ModuleRoot(tb), "testdata", "django_peer.py")
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("peer: %v", err)
	}
	return p
}

// ModuleRoot returns the directory holding go.mod, found by walking up from
// the working directory (go test runs in the package's directory).
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("peer: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("peer: no go.mod above the working directory")
		}
		dir = parent
	}
}

func python() string {
	if p := os.Getenv("DJS_PYTHON"); p != "" {
		return p
	}
	return Python
}

// The checks below cost a process start or a build each; their outcome
// cannot change during a test process, so they are computed once.
var (
	pythonOnce sync.Once
	pythonErr  error

	versionMu   sync.Mutex
	versionErrs = map[string]error{}

	buildOnce sync.Once
	buildPath string
	buildErr  error
)

func pythonOK() error {
	pythonOnce.Do(func() {
		py := python()
		if _, err := os.Stat(py); err != nil {
			pythonErr = err
			return
		}
		out, err := exec.Command(py, "-c", "import django; print(django.get_version())").CombinedOutput()
		if err != nil {
			pythonErr = fmt.Errorf("%s cannot import django: %v: %s", py, err, bytes.TrimSpace(out))
		}
	})
	return pythonErr
}

// versionOK checks once per release that it imports as that release.
func versionOK(v string) error {
	versionMu.Lock()
	defer versionMu.Unlock()
	if err, done := versionErrs[v]; done {
		return err
	}
	cmd := exec.Command(python(), "-c", "import django; print(django.get_version())")
	cmd.Env = append(os.Environ(), versionEnv(v)...)
	out, err := cmd.CombinedOutput()
	got := string(bytes.TrimSpace(out))
	switch {
	case err != nil:
		err = fmt.Errorf("%s cannot import django with %s: %v: %s", python(), versionEnv(v)[0], err, got)
	case got != v && !strings.HasPrefix(got, v+"."):
		err = fmt.Errorf("%s imports Django %s, not %s", versionEnv(v)[0], got, v)
	}
	versionErrs[v] = err
	return err
}

// buildCLI compiles cmd/djsession into a temporary directory once per test
// process. Directories left by earlier test processes (there is no hook at
// process exit to remove them) are removed once they are a day old.
func buildCLI(tb testing.TB) string {
	tb.Helper()
	root := ModuleRoot(tb)
	buildOnce.Do(func() {
		removeStaleBuilds()
		dir, err := os.MkdirTemp("", "djsession-cli-")
		if err != nil {
			buildErr = err
			return
		}
		exe := filepath.Join(dir, "djsession")
		cmd := exec.Command(goTool(), "build", "-o", exe, "./cmd/djsession")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/djsession: %v\n%s", err, out)
			return
		}
		buildPath = exe
	})
	if buildErr != nil {
		tb.Fatalf("peer: %v", buildErr)
	}
	return buildPath
}

func goTool() string {
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

func removeStaleBuilds() {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "djsession-cli-*"))
	for _, d := range old {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("peer: encode JSON: %v", err)
	}
	return b
}

func stdinJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	switch x := v.(type) {
	case []byte:
		return x
	case json.RawMessage:
		return x
	}
	return mustJSON(tb, v)
}

// syncBuffer collects a child's stderr while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Tail returns at most the last n bytes.
func (b *syncBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}

// StartHTTP runs the implementation's http subcommand (its session
// middleware behind /set, /get and /flush) on a free port of 127.0.0.1 and
// returns the base URL, e.g. "http://127.0.0.1:41234". The server is
// stopped with SIGTERM when the test ends.
func (im *Impl) StartHTTP(tb testing.TB, cfg map[string]any) string {
	tb.Helper()
	argv := append([]string(nil), im.argv...)
	if cfg != nil {
		argv = append(argv, "--config", string(mustJSON(tb, cfg)))
	}
	argv = append(argv, "http", "0")
	cmd := im.command(context.Background(), argv)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("peer(%s): %v", im.name, err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("peer(%s): start http: %v", im.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if tb.Failed() && stderr.Len() > 0 {
			tb.Logf("peer(%s) http stderr:\n%s", im.name, stderr.Tail(4000))
		}
	})
	first := make(chan []byte, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadBytes('\n')
		first <- line
		_, _ = io.Copy(io.Discard, stdout) // nothing more is expected; never block the server
	}()
	var line []byte
	select {
	case line = <-first:
	case <-time.After(callTimeout):
		tb.Fatalf("peer(%s): http did not report its address", im.name)
	}
	var hello struct {
		Listening string `json:"listening"`
	}
	if err := json.Unmarshal(line, &hello); err != nil || hello.Listening == "" {
		tb.Fatalf("peer(%s): http first line %q (%v)\nstderr: %s", im.name, line, err, stderr.Tail(4000))
	}
	return hello.Listening
}

// Pairs returns the writer/reader pairs of an interoperability test, Go
// writing for Django and Django writing for Go:
//
//	for _, p := range peer.Pairs(t) {
//		w, r := p[0], p[1]
//		...
//	}
func Pairs(tb testing.TB) [][2]*Impl {
	tb.Helper()
	dj, cli := Django(tb), CLI(tb)
	return [][2]*Impl{{cli, dj}, {dj, cli}}
}
