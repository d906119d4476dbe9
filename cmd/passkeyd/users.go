package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/backend"
	"github.com/passkeyd/passkeyd/password"
)

// maxPasswordLine is how much of standard input a password may take.
const maxPasswordLine = 4096

// readPassword reads one line from r; a single trailing "\n" or "\r\n" is
// not part of the password. The password must pass the policy.
func readPassword(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine+2), maxPasswordLine+2)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	if err != nil && line == "" {
		return "", usagef("--password-stdin: standard input is empty")
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if err := password.ValidatePolicy(line); err != nil {
		return "", usagef("--password-stdin: %v", err)
	}
	return line, nil
}

// userAdd is "passkeyd user add NAME".
func userAdd(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("user add")
	dsn := addDBFlag(fs)
	displayName := fs.String("display-name", "", "name shown to the user (default: the username)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	noPassword := fs.Bool("no-password", false, "make a user who logs in with passkeys only")
	staff := fs.Bool("staff", false, "mark the user as staff")
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("user add: give exactly one username")
	}
	if *fromStdin && *noPassword {
		return usagef("user add: --password-stdin and --no-password exclude each other")
	}
	u, err := passkeyd.NewUser(pos[0], *displayName, time.Now())
	if err != nil {
		return usagef("user add: %v", err)
	}
	u.Staff = *staff
	var pw string
	if *fromStdin {
		if pw, err = readPassword(e.stdin); err != nil {
			return err
		}
	}
	b, err := openBackend(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	if pw != "" {
		if u.PasswordHash, err = hashPassword(ctx, pw); err != nil {
			return err
		}
	}
	if err := b.CreateUser(ctx, u); err != nil {
		if errors.Is(err, passkeyd.ErrUsernameTaken) {
			return usagef("user add: a user named %q exists already", u.Username)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "added user %s\n", u.Username)
	if pw == "" {
		fmt.Fprintf(e.stderr, "note: %s has no password; they log in with a passkey once one is registered\n", u.Username)
	}
	return nil
}

// userPasswd is "passkeyd user passwd NAME --password-stdin".
func userPasswd(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("user passwd")
	dsn := addDBFlag(fs)
	fromStdin := fs.Bool("password-stdin", false, "read the new password from standard input (required)")
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("user passwd: give exactly one username")
	}
	if !*fromStdin {
		return usagef("user passwd: --password-stdin is required (passwords are never taken from the command line)")
	}
	pw, err := readPassword(e.stdin)
	if err != nil {
		return err
	}
	b, err := openBackend(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	u, err := findUser(ctx, b, "user passwd", pos[0])
	if err != nil {
		return err
	}
	hash, err := hashPassword(ctx, pw)
	if err != nil {
		return err
	}
	if err := b.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	changed := passkeyd.AuditEvent{
		At: time.Now().UTC(), UserID: u.ID, Event: passkeyd.AuditPasswordChanged, Outcome: passkeyd.AuditOK,
		Method: "password", Actor: "passkeyd user passwd",
	}
	if err := b.AppendAudit(ctx, changed); err != nil {
		return fmt.Errorf("the password was changed, but not noted in the audit log: %w", err)
	}
	fmt.Fprintf(e.stdout, "password of %s changed\n", u.Username)
	return nil
}

// auditCmd is "passkeyd audit [USER]": the newest events of the audit log,
// one user's or everyone's.
func auditCmd(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("audit")
	dsn := addDBFlag(fs)
	limit := fs.Int("n", 50, "how many events, newest first")
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 1 || *limit < 1 {
		return usagef("audit: want \"audit [USER] [-n N]\" with N at least 1")
	}
	b, err := openReadOnly(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	userID, names := "", map[string]string{}
	if len(pos) == 1 {
		u, err := findUser(ctx, b, "audit", pos[0])
		if err != nil {
			return err
		}
		userID, names[u.ID] = u.ID, u.Username
	}
	events, err := b.AuditEvents(ctx, userID, *limit)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tUSER\tEVENT\tOUTCOME\tMETHOD\tREASON\tPASSKEY\tADDRESS\tPLATFORM\tBY")
	for _, ev := range events {
		name, ok := names[ev.UserID]
		if !ok && ev.UserID != "" {
			if u, err := b.UserByID(ctx, ev.UserID); err == nil {
				name = u.Username
			} else {
				name = ev.UserID
			}
			names[ev.UserID] = name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.At.Format(time.RFC3339), dash(name), ev.Event, ev.Outcome,
			dash(ev.Method), dash(ev.Reason), dash(ev.PasskeyID), dash(ev.Address), dash(ev.Platform), dash(ev.Actor))
	}
	return tw.Flush()
}

// dash is s, or "-" for nothing.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// userList is "passkeyd user list".
func userList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("user list")
	dsn := addDBFlag(fs)
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("user list: unexpected argument %q", pos[0])
	}
	b, err := openReadOnly(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	users, err := b.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tDISPLAY NAME\tSTAFF\tPASSWORD\tCREATED\tLAST LOGIN")
	for _, u := range users {
		last := "never"
		if !u.LastLoginAt.IsZero() {
			last = u.LastLoginAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.DisplayName, yesNo(u.Staff), yesNo(u.PasswordHash != ""),
			u.CreatedAt.Format(time.RFC3339), last)
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// passkeyList is "passkeyd passkey list NAME".
func passkeyList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("passkey list")
	dsn := addDBFlag(fs)
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("passkey list: give exactly one username")
	}
	b, err := openReadOnly(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	u, err := findUser(ctx, b, "passkey list", pos[0])
	if err != nil {
		return err
	}
	passkeys, err := b.UserPasskeys(ctx, u.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPROVIDER\tPLATFORM\tENABLED\tSYNCED\tCREATED\tLAST USED")
	for _, p := range passkeys {
		last := "never"
		if !p.LastUsedAt.IsZero() {
			last = p.LastUsedAt.Format(time.RFC3339)
		}
		provider := p.Provider
		if provider == "" {
			provider = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Name, provider, p.Platform, yesNo(p.Enabled),
			yesNo(p.BackupState), p.CreatedAt.Format(time.RFC3339), last)
	}
	return tw.Flush()
}

// findUser looks a user up by name for a command; a missing one is a usage
// error.
func findUser(ctx context.Context, b backend.Backend, cmd, name string) (*passkeyd.User, error) {
	u, err := b.UserByUsername(ctx, name)
	if errors.Is(err, passkeyd.ErrNotFound) {
		return nil, usagef("%s: no user named %q", cmd, name)
	}
	return u, err
}

// hashPassword hashes a password for a command that stores one. Commands
// hash one password each, so one hashing slot is enough.
func hashPassword(ctx context.Context, pw string) (string, error) {
	return password.NewHasher(password.DefaultParams(), 1).Hash(ctx, pw)
}

// userRecover is "passkeyd user recover NAME [--origin URL]": a one-time
// login link for a user who lost every way in, valid for 15 minutes, for
// an administrator to hand over (in person, or by a channel that proves
// who receives it). Opening it logs the user in once; they then add a
// passkey or set a password.
func userRecover(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("user recover")
	dsn := addDBFlag(fs)
	var origins stringList
	fs.Var(&origins, "origin", "the site's origin the link opens (default https://localhost:8000; the first of --origin)")
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("user recover: give exactly one username")
	}
	origin := "https://localhost:8000"
	if len(origins) > 0 {
		origin = strings.TrimSuffix(origins[0], "/")
	}
	if u, err := url.Parse(origin); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return usagef("user recover: --origin %q: want the site's origin, such as https://example.com", origin)
	}
	b, err := openBackend(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	u, err := findUser(ctx, b, "user recover", pos[0])
	if err != nil {
		return err
	}
	token, err := passkeyd.NewLoginLink(ctx, b, u, "passkeyd user recover", time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "One-time login link for %s, valid for %s:\n%s/recover/%s\n", u.Username, passkeyd.LoginLinkTTL, origin, token)
	return nil
}

// userLock is "passkeyd user lock NAME" and "passkeyd user unlock NAME": a
// locked account cannot log in at all, and its sessions stop working on
// every instance at once.
func userLock(ctx context.Context, e env, args []string, locked bool) error {
	name := "user unlock"
	if locked {
		name = "user lock"
	}
	fs := newFlagSet(name)
	dsn := addDBFlag(fs)
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("%s: give exactly one username", name)
	}
	b, err := openBackend(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	u, err := findUser(ctx, b, name, pos[0])
	if err != nil {
		return err
	}
	if err := passkeyd.LockAccount(ctx, b, b, u, locked, "passkeyd "+name, time.Now()); err != nil {
		return err
	}
	if locked {
		if _, err := b.DeleteUserSessions(ctx, u.ID, nil); err != nil {
			return fmt.Errorf("end the sessions of %s: %w", u.Username, err)
		}
		fmt.Fprintf(e.stdout, "%s is locked: no login, and their sessions have ended.\n", u.Username)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s is unlocked.\n", u.Username)
	return nil
}
