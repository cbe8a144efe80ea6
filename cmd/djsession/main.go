// Command djsession reads, writes and checks Django sessions from the shell.
//
// It has two faces. The human commands (inspect, help) explain what a cookie
// or a session_data value contains. The machine protocol (capabilities,
// dumps, loads, encode, decode, migrate, write, read, modify, delete, cycle,
// clear-expired, login-session, verify-auth, http) is the contract of
// shared/CLI_PROTOCOL.md: one JSON object on one stdout line, exit codes 0
// (ok), 1 (error), 2 (usage) and 3 (unsupported). The same protocol is spoken
// by a small Python script running real Django, which is how the project is
// tested against Django in both directions.
//
// Usage:
//
//	djsession [--config @PATH | --config JSON] SUBCOMMAND [ARGS...] < stdin
//
// Run "djsession help" for the list of subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	// The SQL drivers live here, not in the library: a Go service brings its
	// own, the CLI brings these three.
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3"

	// TIME_ZONE must work on machines without a zoneinfo database.
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
