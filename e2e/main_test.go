package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passkeyd/passkeyd/internal/proctest"
)

// Timeouts. They are generous because CI machines are slow; a test that
// works takes a fraction of them.
const (
	// cmdTimeout bounds a run of "passkeyd user add" and a server's start.
	cmdTimeout = 30 * time.Second
	// waitTimeout bounds each wait for a page condition.
	waitTimeout = 15 * time.Second
	// testTimeout bounds a whole test's browser work.
	testTimeout = 60 * time.Second
)

// The state that TestMain sets up for every test.
var (
	// skipReason is why the browser tests cannot run here ("" when they can).
	skipReason string
	// setupErr is a failure of the shared setup: every test reports it.
	setupErr error
	// binary is cmd/passkeyd, built once.
	binary string
	// workDir holds the binary, the browser profile and the databases.
	workDir string
	// browserCtx is the chromedp context of the one shared browser; each
	// test opens its tabs in a browser context of its own under it.
	browserCtx context.Context
	// screenshotDir is the repository's screenshots/ folder.
	screenshotDir string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	chromium, reason := findChromium()
	if chromium == "" {
		skipReason = reason
		return m.Run()
	}
	var err error
	workDir, err = os.MkdirTemp("", "passkeyd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(workDir)
	screenshotDir, err = filepath.Abs(filepath.Join("..", "screenshots"))
	if err == nil {
		err = os.MkdirAll(screenshotDir, 0o755)
	}
	if err != nil {
		setupErr = fmt.Errorf("screenshots folder: %w", err)
		return m.Run()
	}
	// Screenshots of failures are of this run only.
	old, _ := filepath.Glob(filepath.Join(screenshotDir, "failed-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}

	binary, err = proctest.BuildPasskeyd(workDir)
	if err != nil {
		setupErr = err
		return m.Run()
	}

	cancel, err := startBrowser(chromium)
	if err != nil {
		setupErr = err
		return m.Run()
	}
	code := m.Run()
	cancel()
	stopServers()
	return code
}

// findChromium returns the path of a Chromium (or Chrome) to drive, or ""
// and why not. E2E_CHROMIUM names one; else it is looked up on PATH.
func findChromium() (path, reason string) {
	if p := os.Getenv("E2E_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Sprintf("E2E_CHROMIUM=%s: %v", p, err)
		}
		return p, ""
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, ""
		}
	}
	if _, err := exec.LookPath("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", ""
	}
	return "", "no Chromium found (looked for chromium, chromium-browser, google-chrome and google-chrome-stable on PATH, and /usr/bin/chromium; E2E_CHROMIUM can name one)"
}

// startBrowser starts the one headless Chromium that all tests share.
func startBrowser(path string) (context.CancelFunc, error) {
	profile := filepath.Join(workDir, "chromium-profile")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-hang-monitor", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("enable-automation", true),
	}
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox.
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	// The first Do starts the browser; it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	browserCtx = ctx
	return func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = chromedp.Cancel(cctx)
		cancelCtx()
		cancelAlloc()
	}, nil
}

// requireBrowser skips the test when there is no browser, or fails it in
// CI, where a missing browser is a broken build rather than a laptop
// without Chromium.
func requireBrowser(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the browser tests cannot run: %s", skipReason)
		}
		t.Skipf("browser tests skipped: %s; install Debian's chromium package to run them", skipReason)
	}
	if setupErr != nil {
		t.Fatalf("e2e setup: %v", setupErr)
	}
}

// ---- servers ----

// serverConfig is the extra flags of a server; one server runs per
// distinct configuration and is shared by the tests that want it.
type serverConfig struct {
	name  string   // for the database file and the log
	flags []string // added to serve's flags
	// example, when set, is the app of examples/ to run instead of
	// passkeyd ("minimal"); it takes -addr, -db and -origin, and adds
	// users with "adduser NAME" and the password on stdin.
	example string
}

var (
	defaultServer = serverConfig{name: "default"}
	uvRequired    = serverConfig{name: "uv-required", flags: []string{"--user-verification", "required"}}
)

// server is a running "passkeyd serve".
type server struct {
	cfg  serverConfig
	bin  string // the binary it runs
	db   string // the --db value
	base string // http://localhost:PORT, as the browser opens it
	cmd  *exec.Cmd

	log    proctest.LineLog // its stderr
	exited chan struct{}
}

var servers struct {
	sync.Mutex
	byName map[string]*server
}

// serverFor returns the running server of cfg, starting it on first use.
func serverFor(t *testing.T, cfg serverConfig) *server {
	t.Helper()
	requireBrowser(t)
	servers.Lock()
	defer servers.Unlock()
	if s := servers.byName[cfg.name]; s != nil {
		return s
	}
	var s *server
	var err error
	// The free port is found by listening and closing, so another process
	// can take it in between: try again then.
	for range 3 {
		if s, err = startServer(cfg); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start passkeyd (%s): %v", cfg.name, err)
	}
	if servers.byName == nil {
		servers.byName = map[string]*server{}
	}
	servers.byName[cfg.name] = s
	return s
}

func startServer(cfg serverConfig) (*server, error) {
	port, err := proctest.FreePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(workDir, "server-"+cfg.name+"-"+strconv.Itoa(port))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &server{
		cfg:    cfg,
		bin:    binary,
		db:     "sqlite:" + filepath.Join(dir, "e2e.db"),
		base:   "http://localhost:" + strconv.Itoa(port),
		exited: make(chan struct{}),
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"serve", "--tls", "off", "--addr", addr, "--db", s.db, "--origin", s.base}, cfg.flags...)
	started := "passkeyd listening"
	if cfg.example != "" {
		if s.bin, err = proctest.Build(workDir, "./examples/"+cfg.example); err != nil {
			return nil, err
		}
		s.db = filepath.Join(dir, "app.db")
		args, started = []string{"-addr", addr, "-db", s.db, "-origin", s.base}, "listening"
	}
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Dir = dir
	s.cmd.Env = proctest.Env()
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.log.Consume(stderr)
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	line, err := s.log.Wait(started, 0, cmdTimeout)
	if err != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		return nil, fmt.Errorf("passkeyd: %w; log:\n%s", err, s.log.Since(0))
	}
	if proctest.ListeningAddr(line) != addr {
		_ = s.cmd.Process.Kill()
		<-s.exited
		return nil, fmt.Errorf("unexpected listening line %q", line)
	}
	return s, nil
}

// stopServers ends every server with SIGTERM, as an operator would.
func stopServers() {
	servers.Lock()
	defer servers.Unlock()
	for _, s := range servers.byName {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
}

// userSeq makes usernames unique across the tests that share a server.
var userSeq struct {
	sync.Mutex
	n int
}

// testPassword is every test user's password.
const testPassword = "correct horse battery staple"

// addUser creates a user with testPassword on the server's database with
// "passkeyd user add NAME --password-stdin", and returns the username.
func (s *server) addUser(t *testing.T) string {
	t.Helper()
	return s.addUserWith(t)
}

// addStaff is addUser for a staff member ("user add --staff").
func (s *server) addStaff(t *testing.T) string {
	t.Helper()
	return s.addUserWith(t, "--staff")
}

// addUserWith is addUser with more flags of "user add".
func (s *server) addUserWith(t *testing.T, flags ...string) string {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	base := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(base) > 40 {
		base = base[:40]
	}
	name := fmt.Sprintf("%s-%d", base, n)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append([]string{"user", "add", name, "--password-stdin", "--db", s.db}, flags...)...)
	if s.cfg.example != "" {
		cmd = exec.CommandContext(ctx, s.bin, "-db", s.db, "adduser", name)
	}
	cmd.Env = proctest.Env()
	cmd.Stdin = strings.NewReader(testPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("passkeyd user add %s: %v\n%s", name, err, out)
	}
	return name
}
