// Command passkeyd-load measures a running passkeyd: it registers one
// passkey for each of N users once, through the JSON API, then for a
// bounded time runs C concurrent clients doing full passkey logins
// (/api/login/begin + /api/login/finish, each in a fresh session), or
// registrations, or password logins, and prints logins per second,
// latency percentiles and errors as a table and as one JSON line.
//
//	passkeyd-load seed -db sqlite:passkeyd.db -users 1000 [-filler-users 100000 -filler-passkeys 2]
//	passkeyd-load run -url http://localhost:8000 -users 1000 -c 64 -duration 20s [-mode login|register|password] [-server-pid PID]
//
// seed writes the users (with the password "load-test-password") straight
// into the database, and as many filler users and passkeys as asked, so
// that a database of realistic size takes seconds to make. run works only
// against loopback addresses, and stops after -duration or -max-requests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "passkeyd-load:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{"want a command: seed or run"}
	}
	switch args[0] {
	case "seed":
		return seedCmd(ctx, args[1:], out)
	case "run":
		return runCmd(ctx, args[1:], out)
	default:
		return usageError{fmt.Sprintf("unknown command %q: want seed or run", args[0])}
	}
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}
