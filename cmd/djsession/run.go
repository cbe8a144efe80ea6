package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// Exit codes of the machine protocol (CLI_PROTOCOL.md).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitUnsupported = 3
)

// maxInput bounds what is read from stdin or a config file, so that a runaway
// producer cannot make the CLI exhaust memory.
const maxInput = 64 << 20

// command is one subcommand.
type command struct {
	name    string
	args    string // argument synopsis for usage lines
	summary string
	stdin   string // shape of the stdin object, for help
	stdout  string // shape of the result, for help
	// protocol marks the subcommands of CLI_PROTOCOL.md (listed by
	// capabilities); the others are for humans.
	protocol bool
	run      func(*env) error
}

// env is what a subcommand runs with.
type env struct {
	ctx    context.Context
	args   []string // positional arguments after the subcommand
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	configGiven bool
	configRaw   []byte
	settings    *djangosession.Settings

	input *pyvalue.Dict // stdin object, read once
}

// usageError is a malformed command line or input: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// unsupportedError is a combination deliberately not supported: exit 3.
type unsupportedError struct{ reason string }

func (e *unsupportedError) Error() string { return e.reason }

func unsupportedf(format string, a ...any) error {
	return &unsupportedError{fmt.Sprintf(format, a...)}
}

// kindError is an error with a machine-readable kind ("bad_signature",
// "expired") added to the error object.
type kindError struct {
	kind string
	err  error
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

// commands returns the subcommand table. It is a function, not a package
// variable, so that nothing is mutable at package level and the help command
// can refer to the table.
func commands() []*command {
	cmds := []*command{
		{name: "help", args: "[SUBCOMMAND]", summary: "show usage", run: cmdHelp},
		{name: "inspect", args: "TOKEN|-", summary: "explain a cookie or session_data value (verified when --config has SECRET_KEY)", run: cmdInspect},
		{name: "capabilities", summary: "what this build supports, as JSON", protocol: true, run: cmdCapabilities},
		httpCommand(), // httpcmd.go
	}
	cmds = append(cmds, signingCommands()...)
	cmds = append(cmds, storeCommands()...)
	return cmds
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is main without the process: it parses args, runs one subcommand and
// returns the exit code. Tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	var rest []string
	// Global options come before the subcommand; --config is also accepted
	// after it (handy for "inspect TOKEN --config ..."). Only exact option
	// spellings are options: a token or key may start with "-".
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			i = len(args)
		case a == "--config" || a == "-c":
			if i+1 >= len(args) {
				return fail(e, usagef("--config needs a value: @PATH or inline JSON"))
			}
			if err := e.setConfig(args[i+1]); err != nil {
				return fail(e, err)
			}
			i++
		case strings.HasPrefix(a, "--config="):
			if err := e.setConfig(strings.TrimPrefix(a, "--config=")); err != nil {
				return fail(e, err)
			}
		case (a == "-h" || a == "--help") && len(rest) == 0:
			rest = append(rest, "help")
		case len(rest) == 0 && strings.HasPrefix(a, "-"):
			return fail(e, usagef("unknown option %q", a))
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) == 0 {
		writeUsage(stderr)
		return fail(e, usagef("no subcommand given"))
	}
	c := findCommand(rest[0])
	if c == nil {
		writeUsage(stderr)
		return fail(e, usagef("unknown subcommand %q", rest[0]))
	}
	e.args = rest[1:]
	if err := c.run(e); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "usage: djsession [--config @PATH|JSON] %s %s\n", c.name, c.args)
		}
		return fail(e, err)
	}
	return exitOK
}

// fail reports err on stdout as the protocol's JSON object and on stderr as a
// log line, and returns the exit code it maps to.
func fail(e *env, err error) int {
	if errors.Is(err, errReported) {
		return exitError
	}
	out := pyvalue.NewDict(2)
	code := exitError
	var ue *usageError
	var un *unsupportedError
	switch {
	case errors.As(err, &ue):
		code = exitUsage
		out.Set("error", "usage: "+ue.msg)
	case errors.As(err, &un):
		code = exitUnsupported
		out.Set("unsupported", un.reason)
	case errors.Is(err, djangosession.ErrUnsupported):
		code = exitUnsupported
		out.Set("unsupported", err.Error())
	default:
		out.Set("error", err.Error())
		var ke *kindError
		if errors.As(err, &ke) {
			out.Set("kind", ke.kind)
		}
	}
	fmt.Fprintf(e.stderr, "djsession: %v\n", err)
	if werr := writeJSON(e.stdout, out); werr != nil {
		fmt.Fprintf(e.stderr, "djsession: writing result: %v\n", werr)
	}
	return code
}

// writeJSON prints v as one line of Django-exact JSON (ASCII with \u
// escapes, exact integers, floats that stay floats).
func writeJSON(w io.Writer, v any) error {
	b, err := pyvalue.MarshalJSON(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// emit prints a successful result.
func (e *env) emit(v *pyvalue.Dict) error {
	if err := writeJSON(e.stdout, v); err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	return nil
}

// obj builds an ordered result object from alternating keys and values.
func obj(kv ...any) *pyvalue.Dict {
	d := pyvalue.NewDict(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

func (e *env) setConfig(s string) error {
	var raw []byte
	if path, ok := strings.CutPrefix(s, "@"); ok {
		f, err := os.Open(path)
		if err != nil {
			return usagef("--config: %v", err)
		}
		defer f.Close()
		raw, err = io.ReadAll(io.LimitReader(f, maxInput))
		if err != nil {
			return usagef("--config: %v", err)
		}
	} else {
		raw = []byte(s)
	}
	e.configGiven = true
	e.configRaw = raw
	e.settings = nil
	return nil
}

// config returns the settings, loaded on first use with Django's defaults
// for every setting the config does not give.
func (e *env) config() (*djangosession.Settings, error) {
	if e.settings != nil {
		return e.settings, nil
	}
	raw := e.configRaw
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	s, err := djangosession.LoadSettings(raw)
	if err != nil {
		return nil, usagef("--config: %v", err)
	}
	e.settings = s
	return s, nil
}

// readInput reads the stdin JSON object once.
func (e *env) readInput() (*pyvalue.Dict, error) {
	if e.input != nil {
		return e.input, nil
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	if len(b) > maxInput {
		return nil, usagef("stdin larger than %d bytes", maxInput)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, usagef("expected a JSON object on stdin")
	}
	v, err := pyvalue.UnmarshalJSONText(b)
	if err != nil {
		return nil, usagef("stdin: %v", err)
	}
	d, ok := v.(*pyvalue.Dict)
	if !ok {
		return nil, usagef("stdin: expected a JSON object, got %s", pyvalue.TypeName(v))
	}
	e.input = d
	return d, nil
}

func stringField(in *pyvalue.Dict, name, def string) (string, error) {
	v, ok := in.Get(name)
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", usagef("%q must be a string, got %s", name, pyvalue.TypeName(v))
	}
	return s, nil
}

func boolField(in *pyvalue.Dict, name string) (bool, error) {
	v, ok := in.Get(name)
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, usagef("%q must be a boolean, got %s", name, pyvalue.TypeName(v))
	}
	return b, nil
}

func dictField(in *pyvalue.Dict, name string, required bool) (*pyvalue.Dict, error) {
	v, ok := in.Get(name)
	if !ok || v == nil {
		if required {
			return nil, usagef("stdin needs %q", name)
		}
		return pyvalue.NewDict(0), nil
	}
	d, ok := v.(*pyvalue.Dict)
	if !ok {
		return nil, usagef("%q must be an object, got %s", name, pyvalue.TypeName(v))
	}
	return d, nil
}

// key returns positional argument i as a session key; "-" reads it from
// stdin's {"key": ...}, for cookie values longer than an argument may be.
func (e *env) key(i int) (string, error) {
	if i >= len(e.args) {
		return "", usagef("missing session key")
	}
	k := e.args[i]
	if k != "-" {
		return k, nil
	}
	in, err := e.readInput()
	if err != nil {
		return "", err
	}
	v, ok := in.Get("key")
	if !ok {
		return "", usagef(`key "-" needs {"key": ...} on stdin`)
	}
	s, ok := v.(string)
	if !ok {
		return "", usagef(`"key" must be a string, got %s`, pyvalue.TypeName(v))
	}
	return s, nil
}

// wantArgs checks the positional argument count.
func (e *env) wantArgs(min, max int) error {
	if len(e.args) < min {
		return usagef("too few arguments")
	}
	if len(e.args) > max {
		return usagef("unexpected argument %q", e.args[max])
	}
	return nil
}

// protocolNames lists the protocol subcommands that this build wires.
func protocolNames() []string {
	var names []string
	for _, c := range commands() {
		if c.protocol {
			names = append(names, c.name)
		}
	}
	sort.Strings(names)
	return names
}

func writeUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: djsession [--config @PATH | --config JSON] SUBCOMMAND [ARGS...]\n\n")
	b.WriteString("Config keys are Django's setting names (SECRET_KEY, SESSION_ENGINE, DATABASES, ...).\n")
	b.WriteString("Machine subcommands print one JSON line; exit 0 ok, 1 error, 2 usage, 3 unsupported.\n\nSubcommands:\n")
	for _, c := range commands() {
		syn := c.name
		if c.args != "" {
			syn += " " + c.args
		}
		fmt.Fprintf(&b, "  %-34s %s\n", syn, c.summary)
	}
	b.WriteString("\nA KEY given as - is read from stdin as {\"key\": \"...\"}.\n")
	io.WriteString(w, b.String())
}
