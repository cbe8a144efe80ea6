package main

import (
	"fmt"
	"strings"
)

// cmdHelp prints the usage, or the synopsis of one subcommand, on stdout.
func cmdHelp(e *env) error {
	if len(e.args) == 0 {
		writeUsage(e.stdout)
		return nil
	}
	c := findCommand(e.args[0])
	if c == nil {
		return usagef("unknown subcommand %q", e.args[0])
	}
	syn := strings.TrimSpace("djsession [--config @PATH|JSON] " + c.name + " " + c.args)
	fmt.Fprintf(e.stdout, "usage: %s\n\n%s\n", syn, c.summary)
	if c.stdin != "" {
		fmt.Fprintf(e.stdout, "\nstdin: %s\n", c.stdin)
	}
	if c.stdout != "" {
		fmt.Fprintf(e.stdout, "stdout: %s\n", c.stdout)
	}
	return nil
}
