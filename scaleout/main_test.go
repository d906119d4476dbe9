package scaleout_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/passkeyd/passkeyd/internal/pgtest"
	"github.com/passkeyd/passkeyd/internal/proctest"
	"github.com/passkeyd/passkeyd/postgres"
)

// Bounds. A test that works takes a fraction of each; they are generous
// for slow CI machines, and they stop a broken test from hanging.
const (
	// startTimeout bounds a passkeyd (or nginx) start and a CLI command.
	startTimeout = 20 * time.Second
	// stopTimeout bounds a graceful stop before the process is killed.
	stopTimeout = 10 * time.Second
	// requestTimeout bounds one HTTP request of a test client.
	requestTimeout = 20 * time.Second
	// serviceTimeout bounds a connection to PostgreSQL or Redis.
	serviceTimeout = 10 * time.Second
)

// redisDB is the Redis database these tests own: they empty it before and
// after use. The redis package's tests use 15.
const redisDB = 14

// testPassword is every test user's password.
const testPassword = "correct horse battery staple"

// passkeydBin is cmd/passkeyd, built once by TestMain; buildErr says why not.
var (
	passkeydBin string
	buildErr    error
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "passkeyd-scaleout-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleout:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	passkeydBin, buildErr = proctest.BuildPasskeyd(dir)
	return m.Run()
}

// inCI reports whether a missing service must fail rather than skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// unavailable skips the test outside CI and fails it in CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("CI=true but %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

func requireBinary(t testing.TB) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// ---- PostgreSQL ----

// openStore opens the passkeyd store at dsn, closed when the test ends.
func openStore(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), serviceTimeout)
	defer cancel()
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", redact(dsn), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// freshSchema makes an empty schema for the test, dropped when it ends,
// and returns a connection URL whose search_path is that schema: every
// instance of the test shares it, and no other test sees its rows. No
// PostgreSQL skips the test (fails it in CI).
func freshSchema(t testing.TB) string {
	t.Helper()
	requireBinary(t)
	return pgtest.Schema(t, "scaleout_")
}

// postgresHost returns the HOST:PORT of a postgres:// URL.
func postgresHost(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Fatalf("want a postgres://HOST:PORT/... URL, got %s", redact(dsn))
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "5432")
	}
	return u.Host
}

// viaProxy returns dsn with its host replaced by addr.
func viaProxy(t testing.TB, dsn, addr string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// ---- Redis ----

// freshRedis returns the --sessions URL of the test's Redis database and a
// client of it; the database is emptied now and when the test ends. No
// Redis skips the test (fails it in CI).
func freshRedis(t testing.TB) (string, *goredis.Client) {
	t.Helper()
	raw := "redis://127.0.0.1:6379"
	if s := os.Getenv("PASSKEYD_TEST_REDIS"); s != "" {
		raw = s
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("PASSKEYD_TEST_REDIS: %v", err)
	}
	u.Path = "/" + strconv.Itoa(redisDB)
	opts, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatalf("PASSKEYD_TEST_REDIS: %v", err)
	}
	c := goredis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), serviceTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		unavailable(t, "no Redis at %s (set PASSKEYD_TEST_REDIS): %v", redact(u.String()), err)
	}
	if err := c.FlushDB(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("FLUSHDB: %v", err)
	}
	t.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), serviceTimeout)
		defer cancel()
		if err := c.FlushDB(ctx).Err(); err != nil {
			t.Errorf("FLUSHDB: %v", err)
		}
	})
	return u.String(), c
}

// ---- processes ----

// process is a child process whose stderr (and stdout) is a LineLog.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    *proctest.LineLog
	exited chan struct{}
}

// startProcess starts cmd with its output in a LineLog.
func startProcess(name string, cmd *exec.Cmd) (*process, error) {
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &process{name: name, cmd: cmd, log: new(proctest.LineLog), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go p.log.Consume(pr)
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	return p, nil
}

// stop ends the process with SIGTERM, as an operator would, and kills it
// if it has not ended within stopTimeout. It reports whether it ended by
// itself.
func (p *process) stop() bool {
	select {
	case <-p.exited:
		return true
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return true
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return false
	}
}

// instance is a running "passkeyd serve".
type instance struct {
	*process
	addr string // 127.0.0.1:PORT, where it listens
	base string // http://localhost:PORT, its origin when clients talk to it directly
}

// serveOptions configure an instance.
type serveOptions struct {
	addr     string   // --addr; 127.0.0.1:0 when empty
	db       string   // --db
	sessions string   // --sessions; db when empty
	origins  []string // --origin, each; the instance's own http://localhost:PORT when empty
}

// startInstance starts passkeyd serve and waits until it listens. It is
// stopped (SIGTERM) when the test ends; its log is shown if the test failed.
func startInstance(t testing.TB, name string, o serveOptions) (*instance, error) {
	t.Helper()
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	if o.sessions == "" {
		o.sessions = "db"
	}
	// Every test client comes from this machine's address: no limit per
	// client address.
	args := []string{"serve", "--tls", "off", "--addr", o.addr, "--db", o.db, "--sessions", o.sessions, "--client-rate", "0"}
	if len(o.origins) == 0 {
		_, port, _ := net.SplitHostPort(o.addr)
		o.origins = []string{"http://localhost:" + port}
	}
	for _, origin := range o.origins {
		args = append(args, "--origin", origin)
	}
	cmd := exec.Command(passkeydBin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = proctest.Env()
	p, err := startProcess(name, cmd)
	if err != nil {
		return nil, err
	}
	line, err := p.log.Wait(`msg="passkeyd listening"`, 0, startTimeout)
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("passkeyd %s: %w; its output:\n%s", name, err, p.log.Tail(50))
	}
	addr := proctest.ListeningAddr(line)
	if addr == "" {
		p.stop()
		return nil, fmt.Errorf("passkeyd %s: no addr= in %q", name, line)
	}
	_, port, _ := net.SplitHostPort(addr)
	in := &instance{process: p, addr: addr, base: "http://localhost:" + port}
	t.Cleanup(func() {
		// A connection the client pool opened but never used counts as
		// busy for 5 s in the server's graceful shutdown: close them.
		sharedTransport.CloseIdleConnections()
		if !in.stop() {
			t.Errorf("passkeyd %s did not stop within %s of SIGTERM", name, stopTimeout)
		}
		if t.Failed() {
			t.Logf("passkeyd %s, last lines:\n%s", name, in.log.Tail(40))
		}
	})
	return in, nil
}

// freePort returns a loopback port that nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	port, err := proctest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// startPair starts instances A and B at once (so they also race to
// migrate the schema) on two loopback ports, each trusting both origins:
// the authenticator of a test runs at A's origin and may finish on B.
// A port taken by someone else between freePort and the listen is retried.
func startPair(t testing.TB, db, sessions string) (a, b *instance) {
	t.Helper()
	var err error
	for range 3 {
		pa, pb := freePort(t), freePort(t)
		origins := []string{fmt.Sprintf("http://localhost:%d", pa), fmt.Sprintf("http://localhost:%d", pb)}
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() {
			a, errA = startInstance(t, "A", serveOptions{addr: fmt.Sprintf("127.0.0.1:%d", pa), db: db, sessions: sessions, origins: origins})
		})
		wg.Go(func() {
			b, errB = startInstance(t, "B", serveOptions{addr: fmt.Sprintf("127.0.0.1:%d", pb), db: db, sessions: sessions, origins: origins})
		})
		wg.Wait()
		if errA == nil && errB == nil {
			a.base, b.base = origins[0], origins[1]
			return a, b
		}
		for _, in := range []*instance{a, b} {
			if in != nil {
				in.stop()
			}
		}
		err = errors.Join(errA, errB)
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("start two instances: %v", err)
	return nil, nil
}

// addUser runs "passkeyd user add NAME --password-stdin" against db.
func addUser(t testing.TB, db, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, passkeydBin, "user", "add", name, "--password-stdin", "--db", db)
	cmd.Env = proctest.Env()
	cmd.Stdin = strings.NewReader(testPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("passkeyd user add %s: %v\n%s", name, err, out)
	}
}
