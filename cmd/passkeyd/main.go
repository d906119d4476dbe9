// Command passkeyd is a login server with passwords and passkeys: the
// article's example site done properly, on an embedded SQLite database and
// HTTPS out of the box.
//
//	passkeyd [serve] [flags]          run the server (serve is the default command)
//	passkeyd migrate                  create / upgrade the schema, then exit
//	passkeyd user add NAME [--display-name S] [--password-stdin | --no-password] [--staff]
//	passkeyd user passwd NAME --password-stdin
//	passkeyd user list
//	passkeyd user lock NAME / passkeyd user unlock NAME
//	passkeyd user recover NAME [--origin URL]   a one-time login link, 15 minutes
//	passkeyd passkey list NAME
//	passkeyd keys rotate                seal pending ceremonies with a new key
//	passkeyd keys list                  the ceremony keys, without their secrets
//
// Every flag can also be set in the environment as PASSKEYD_<FLAG>, with
// dashes as underscores; a flag on the command line wins.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, env{
		args:   os.Args[1:],
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
	})
	stop()
	os.Exit(code)
}

// env is the process's outside world, passed in so tests can run commands
// in-process.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// ready, when set, is called with the server's address once it listens.
	ready func(addr string)
}

// Exit statuses.
const (
	exitOK    = 0
	exitFault = 1 // something went wrong while running
	exitUsage = 2 // bad flags, values or arguments; a database out of reach
)

// usageError is a mistake in how the command was called, or a database that
// cannot be reached: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// run runs one command and returns the exit status. Every failure is one
// line on stderr.
func run(ctx context.Context, e env) int {
	err := dispatch(ctx, e)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	default:
		fmt.Fprintf(e.stderr, "passkeyd: %s\n", oneLine(err.Error()))
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFault
	}
}

func dispatch(ctx context.Context, e env) error {
	args := e.args
	if len(args) == 0 || len(args[0]) > 0 && args[0][0] == '-' {
		return serve(ctx, e, args)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, e, rest)
	case "migrate":
		return migrateCmd(ctx, e, rest)
	case "user":
		if len(rest) == 0 {
			return usagef("user: missing subcommand (add, passwd, list, recover, lock or unlock)")
		}
		switch sub, rest := rest[0], rest[1:]; sub {
		case "add":
			return userAdd(ctx, e, rest)
		case "passwd":
			return userPasswd(ctx, e, rest)
		case "list":
			return userList(ctx, e, rest)
		case "recover":
			return userRecover(ctx, e, rest)
		case "lock":
			return userLock(ctx, e, rest, true)
		case "unlock":
			return userLock(ctx, e, rest, false)
		default:
			return usagef("user: unknown subcommand %q (add, passwd, list, recover, lock or unlock)", sub)
		}
	case "passkey":
		if len(rest) == 0 || rest[0] != "list" {
			return usagef("passkey: want \"passkey list NAME\"")
		}
		return passkeyList(ctx, e, rest[1:])
	case "audit":
		return auditCmd(ctx, e, rest)
	case "keys":
		if len(rest) == 0 {
			return usagef("keys: missing subcommand (rotate or list)")
		}
		switch sub, rest := rest[0], rest[1:]; sub {
		case "rotate":
			return keysRotate(ctx, e, rest)
		case "list":
			return keysList(ctx, e, rest)
		default:
			return usagef("keys: unknown subcommand %q (rotate or list)", sub)
		}
	case "help":
		fmt.Fprint(e.stdout, usageText)
		return errHelp
	default:
		return usagef("unknown command %q (serve, migrate, user, passkey, audit, keys; see passkeyd help)", cmd)
	}
}

const usageText = `passkeyd: password and passkey login server

  passkeyd [serve] [flags]          run the server (serve is the default command)
  passkeyd migrate                  create / upgrade the schema, then exit
  passkeyd user add NAME [--display-name S] [--password-stdin | --no-password] [--staff]
  passkeyd user passwd NAME --password-stdin
  passkeyd user list
  passkeyd user recover NAME [--origin URL]   a one-time login link, valid 15 minutes
  passkeyd user lock NAME            no login of any kind, sessions end
  passkeyd user unlock NAME
  passkeyd passkey list NAME
  passkeyd audit [USER] [-n N]        the newest events of the audit log
  passkeyd keys rotate                seal pending ceremonies with a new key
  passkeyd keys list                  the ceremony keys, without their secrets

Every command takes --db (or PASSKEYD_DB). Run "passkeyd serve -h" for the
server's flags; each can also be set as PASSKEYD_<FLAG>.
`

// oneLine folds an error message onto one line.
func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
