package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/backend"
	"github.com/passkeyd/passkeyd/internal/site"
	"github.com/passkeyd/passkeyd/locale"
	"github.com/passkeyd/passkeyd/password"
	"github.com/passkeyd/passkeyd/redis"
	goredis "github.com/redis/go-redis/v9"
)

// The demo account that --demo creates when it is missing.
const (
	demoUsername = "test-user@sample.local"
	demoPassword = "testUser002@password"
)

// defaultMemoryLimit is the Go runtime's soft memory limit for the server
// unless GOMEMLIMIT says otherwise (docs/performance.md).
const defaultMemoryLimit = 64 << 20

// defaultGCPercent is the garbage collector's target (GOGC) unless GOGC
// says otherwise: with the soft memory limit bounding the heap, collecting
// half as often costs memory that the limit caps, and saves about a tenth
// of a login's CPU (docs/performance.md).
const defaultGCPercent = 200

// defaultAddr is where the server listens unless told otherwise.
const defaultAddr = ":8000"

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// shutdownTimeout is how long requests in flight may take to finish after
// SIGINT or SIGTERM.
const shutdownTimeout = 30 * time.Second

// serveConfig is the server's configuration, from flags and environment.
type serveConfig struct {
	addr, db, sessions string
	rpID, rpName       string
	origins            stringList
	relatedOrigins     stringList
	lang               string
	messages           *locale.Catalog
	trustedProxies     stringList
	proxies            []netip.Prefix
	clientRate         float64
	clientBurst        int
	maxConns           int
	maxConnsPerAddr    int
	auditRetention     time.Duration
	metricsAddr        string
	// addrSet says --addr (or PASSKEYD_ADDR) was given.
	addrSet          bool
	tls              string
	attachment       string
	userVerification string
	demo             bool
	ceremonyTTL      time.Duration
	ceremonyKeyFile  string
	sessionIdle      time.Duration
	reauthWindow     time.Duration
	signUp           string
	sessionLifetime  time.Duration
	logFormat        string
	cpuProfile       string
}

func parseServeFlags(e env, args []string) (*serveConfig, error) {
	c := &serveConfig{}
	fs := newFlagSet("serve")
	fs.StringVar(&c.addr, "addr", defaultAddr, "listen address (with --demo: localhost:8000)")
	fs.StringVar(&c.db, "db", defaultDB, "database: sqlite:PATH or postgres://...")
	fs.StringVar(&c.sessions, "sessions", "db", "session store: db (the same database) or redis://HOST:PORT/N")
	fs.StringVar(&c.rpID, "rp-id", "localhost", "WebAuthn relying-party id (the site's registrable domain)")
	fs.StringVar(&c.rpName, "rp-name", "passkeyd", "relying-party display name")
	fs.Var(&c.trustedProxies, "trusted-proxy", "network (CIDR) of a reverse proxy in front of passkeyd, repeatable: only from it is X-Forwarded-For believed, for the limits per client address")
	fs.Float64Var(&c.clientRate, "client-rate", 5, "passkey ceremonies and password logins one client address may start a second on this instance, after a burst of --client-burst (0: no limit, for load tests)")
	fs.IntVar(&c.clientBurst, "client-burst", 100, "the burst of --client-rate")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "also serve GET /metrics to everyone on this address (the main address serves it to this machine only)")
	fs.DurationVar(&c.auditRetention, "audit-retention", passkeyd.DefaultAuditRetention, "how long the audit log keeps an event")
	fs.IntVar(&c.maxConns, "max-conns", 0, "most connections open at once (default 10000, or fewer when the file limit is lower)")
	fs.IntVar(&c.maxConnsPerAddr, "max-conns-per-addr", defaultMaxConnsPerAddr, "most connections one client address may hold open (a --trusted-proxy has no limit)")
	fs.Var(&c.origins, "origin", "allowed origin, repeatable (default: derived from --addr, --rp-id and --tls)")
	fs.StringVar(&c.lang, "lang", "", "the one language of every page and answer (en, ja); empty: each visitor's, from their choice or their browser")
	fs.Var(&c.relatedOrigins, "related-origin", "origin on another domain whose pages may use this site's passkeys, repeatable: listed at /.well-known/webauthn and accepted at login")
	fs.StringVar(&c.tls, "tls", "auto", "auto (self-signed localhost certificate kept in ./tls/), off, or CERT,KEY")
	fs.StringVar(&c.attachment, "attachment", "any", "authenticator attachment: platform, cross-platform or any")
	fs.StringVar(&c.userVerification, "user-verification", "preferred", "required, preferred or discouraged")
	fs.StringVar(&c.signUp, "signup", "", "who may make an account: closed, passkey, password or any (default closed; any with --demo)")
	fs.BoolVar(&c.demo, "demo", false, "create the demo account "+demoUsername+" when it is missing")
	fs.DurationVar(&c.ceremonyTTL, "ceremony-ttl", 5*time.Minute, "how long a begun passkey ceremony may be finished")
	fs.StringVar(&c.ceremonyKeyFile, "ceremony-key-file", "", "file of base64 32-byte keys that seal pending ceremonies, one a line, the first sealing (default: keys kept in the database; see passkeyd keys rotate)")
	fs.DurationVar(&c.reauthWindow, "reauth-window", passkeyd.DefaultReauthWindow, "how recent a login must be for a sensitive change (adding or removing a passkey, ending sessions, changing the password); older ones confirm again")
	fs.DurationVar(&c.sessionIdle, "session-idle", 24*time.Hour, "a session unused this long ends")
	fs.DurationVar(&c.sessionLifetime, "session-lifetime", 7*24*time.Hour, "a session ends this long after login, used or not")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for performance work)")
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("serve: unexpected argument %q", pos[0])
	}
	c.addrSet = c.addr != defaultAddr
	return c, c.check()
}

// check validates the values and fills in the derived default origin.
func (c *serveConfig) check() error {
	host, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		return usagef("--addr %q: want HOST:PORT or :PORT", c.addr)
	}
	// A number only: a service name ("http") would bind a port nobody
	// asked for by number.
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return usagef("--addr %q: the port must be a number from 0 to 65535", c.addr)
	}
	if c.demo {
		// The demo account's password is in the README: never on a
		// reachable address.
		switch {
		case !c.addrSet:
			c.addr = net.JoinHostPort("localhost", port)
		case !isLoopback(host):
			return usagef("--demo serves an account whose password is published: it listens on loopback only; use --addr localhost:%s (or 127.0.0.1:%s), not %q", port, port, c.addr)
		}
	}
	switch c.signUp {
	case "":
		c.signUp = passkeyd.SignUpClosed
		if c.demo {
			c.signUp = passkeyd.SignUpAny
		}
	case passkeyd.SignUpClosed, passkeyd.SignUpPasskey, passkeyd.SignUpPassword, passkeyd.SignUpAny:
	default:
		return usagef("--signup %q: want closed, passkey, password or any", c.signUp)
	}
	if c.sessions != "db" && !strings.HasPrefix(c.sessions, "redis://") && !strings.HasPrefix(c.sessions, "rediss://") {
		return usagef("--sessions %q: want db, redis://HOST:PORT/N or rediss:// (TLS)", c.sessions)
	}
	if err := passkeyd.CheckRPID(c.rpID); err != nil {
		return usagef("--rp-id: %v", err)
	}
	if strings.TrimSpace(c.rpName) == "" {
		return usagef("--rp-name must not be empty")
	}
	switch c.attachment {
	case "platform", "cross-platform", "any":
	default:
		return usagef("--attachment %q: want platform, cross-platform or any", c.attachment)
	}
	switch c.userVerification {
	case "required", "preferred", "discouraged":
	default:
		return usagef("--user-verification %q: want required, preferred or discouraged", c.userVerification)
	}
	if c.tls != "auto" && c.tls != "off" {
		if cert, key, ok := strings.Cut(c.tls, ","); !ok || cert == "" || key == "" {
			return usagef("--tls %q: want auto, off or CERT,KEY", c.tls)
		}
	}
	if c.ceremonyTTL < passkeyd.MinCeremonyTTL || c.ceremonyTTL > passkeyd.MaxCeremonyTTL {
		return usagef("--ceremony-ttl %s: want between %s and %s", c.ceremonyTTL, passkeyd.MinCeremonyTTL, passkeyd.MaxCeremonyTTL)
	}
	if c.reauthWindow < time.Second {
		return usagef("--reauth-window %s: want a second or more", c.reauthWindow)
	}
	if c.sessionIdle <= 0 || c.sessionLifetime <= 0 {
		return usagef("--session-idle and --session-lifetime must be positive")
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return usagef("--log-format %q: want text or json", c.logFormat)
	}
	for _, p := range c.trustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return usagef("--trusted-proxy %q: want a network such as 10.0.0.0/8, or an address", p)
			}
			prefix = netip.PrefixFrom(a, a.BitLen())
		}
		c.proxies = append(c.proxies, prefix.Masked())
	}
	if c.auditRetention < time.Hour {
		return usagef("--audit-retention %s: want an hour or more", c.auditRetention)
	}
	if c.maxConns < 0 || c.maxConnsPerAddr < 1 {
		return usagef("--max-conns must not be negative and --max-conns-per-addr must be at least 1")
	}
	if c.clientRate < 0 || c.clientBurst < 1 {
		return usagef("--client-rate must not be negative and --client-burst must be at least 1")
	}
	if len(c.origins) == 0 {
		c.origins = stringList{c.defaultOrigin()}
	}
	for _, o := range c.origins {
		if err := passkeyd.CheckOrigin(o, c.rpID); err != nil {
			return usagef("--origin %q: %v", o, err)
		}
	}
	for _, o := range c.relatedOrigins {
		if err := passkeyd.CheckRelatedOrigin(o, c.rpID); err != nil {
			return usagef("--related-origin %q: %v", o, err)
		}
	}
	messages, err := locale.New(c.lang)
	if err != nil {
		return usagef("--lang %q: %v", c.lang, err)
	}
	c.messages = messages
	return nil
}

// addressRate is Config.AddressRate for --client-rate: 0 there is no
// limit, which the Config says with a negative rate.
func addressRate(perSecond float64) float64 {
	if perSecond == 0 {
		return -1
	}
	return perSecond
}

// defaultOrigin derives the origin from the RP id, the listen port and
// whether TLS is on: https://localhost:8000 by default.
func (c *serveConfig) defaultOrigin() string {
	_, port, _ := net.SplitHostPort(c.addr)
	scheme := "https"
	if c.tls == "off" {
		scheme = "http"
	}
	if port == "" || port == "0" || scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		return scheme + "://" + c.rpID
	}
	return scheme + "://" + net.JoinHostPort(c.rpID, port)
}

// serve is "passkeyd serve": it runs until ctx ends (SIGINT, SIGTERM), then
// lets requests in flight finish.
func serve(ctx context.Context, e env, args []string) error {
	c, err := parseServeFlags(e, args)
	if err != nil {
		return err
	}
	logger := newLogger(e, c.logFormat)
	if e.getenv("GOMEMLIMIT") == "" {
		// A soft limit: the garbage collector works harder as the heap
		// nears it, which keeps a burst of password hashes (19 MiB each)
		// from doubling the resident size; the heap may still grow past
		// it when it must. GOMEMLIMIT overrides it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if c.cpuProfile != "" {
		stop, err := startCPUProfile(c.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	b, err := openBackend(ctx, c.db)
	if err != nil {
		return err
	}
	defer b.Close()
	if c.demo {
		logger.Warn("demo mode: the demo account's password is published; listening on loopback only. Never use --demo where others can reach the server")
		if err := ensureDemoUser(ctx, b, logger); err != nil {
			return err
		}
	} else if err := removeDemoUser(ctx, b, logger); err != nil {
		return err
	}
	// Half the cores at most hash passwords, so a burst of password
	// attempts leaves the rest to passkey logins and everything else.
	hasher := password.NewHasher(password.DefaultParams(), max(1, runtime.GOMAXPROCS(0)/2))
	m := newMetrics()
	deps := passkeyd.Deps{
		Users:     b,
		Store:     b,
		Passwords: passkeyd.HashedPasswords(hasher, b),
	}
	health, ready := b.Ping, b.Ready
	if c.sessions != "db" {
		rs, err := openRedis(ctx, c.sessions, logger)
		if err != nil {
			return err
		}
		defer rs.Close()
		deps.SessionStore = rs
		health = func(ctx context.Context) error {
			if err := b.Ping(ctx); err != nil {
				return err
			}
			return rs.Ping(ctx)
		}
		ready = func(ctx context.Context) error {
			if err := b.Ready(ctx); err != nil {
				return err
			}
			if err := rs.Ping(ctx); err != nil {
				return fmt.Errorf("the session store: %w", err)
			}
			return nil
		}
	}
	keys, err := readCeremonyKeys(c.ceremonyKeyFile)
	if err != nil {
		return err
	}
	origins := []string(c.origins)
	passkeys, err := passkeyd.NewService(passkeyd.Config{
		RPID:               c.rpID,
		RPName:             c.rpName,
		Origins:            origins,
		RelatedOrigins:     c.relatedOrigins,
		Messages:           c.messages,
		Attachment:         c.attachment,
		UserVerification:   c.userVerification,
		CeremonyTTL:        c.ceremonyTTL,
		CeremonyKeys:       keys,
		SessionIdleTimeout: c.sessionIdle,
		ReauthWindow:       c.reauthWindow,
		SignUp:             c.signUp,
		SessionLifetime:    c.sessionLifetime,
		TrustedProxies:     c.proxies,
		AddressRate:        addressRate(c.clientRate),
		AddressBurst:       c.clientBurst,
		AuditRetention:     c.auditRetention,
		Metrics:            m,
		Logger:             logger,
	}, deps)
	if err != nil {
		return err
	}
	m.watch(hasher, passkeys)
	s, err := site.New(site.Config{Origins: origins, RelatedOrigins: c.relatedOrigins, Logger: logger, Instrument: m.instrument}, site.Deps{
		Passkeys: passkeys,
		Health:   health,
		Ready:    ready,
		Metrics:  m.handler(),
	})
	if err != nil {
		return err
	}
	handler, err := s.Handler()
	if err != nil {
		return err
	}
	tlsConfig, err := c.tlsConfig(logger)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	ln = newLimitedListener(ln, maxConnsFor(c.maxConns), c.maxConnsPerAddr, c.proxies)
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	// The metrics listener is open before the server says it listens,
	// so that a scrape right after that line finds it.
	var metricsLn net.Listener
	if c.metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", c.metricsAddr); err != nil {
			return fmt.Errorf("listen on --metrics-addr %s: %w", c.metricsAddr, err)
		}
		defer metricsLn.Close()
		logger.Info("metrics listening", "addr", metricsLn.Addr().String())
	}
	logger.Info("passkeyd listening", "addr", ln.Addr().String(), "origin", strings.Join(origins, ","), "db", redactDSN(c.db))
	if e.ready != nil {
		e.ready(ln.Addr().String())
	}
	sweepCtx, stopSweeping := context.WithCancel(ctx)
	defer stopSweeping()
	go passkeys.Run(sweepCtx)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.handler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: srv.ErrorLog}
		go func() { errc <- msrv.Serve(metricsLn) }()
		defer msrv.Close()
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func newLogger(e env, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, nil))
	}
	return slog.New(slog.NewTextHandler(e.stderr, nil))
}

// tlsConfig returns the TLS configuration for --tls, or nil for off.
func (c *serveConfig) tlsConfig(logger *slog.Logger) (*tls.Config, error) {
	var cert tls.Certificate
	switch c.tls {
	case "off":
		return nil, nil
	case "auto":
		var made bool
		var err error
		cert, made, err = loadOrMakeCertificate("tls", time.Now())
		if err != nil {
			return nil, fmt.Errorf("--tls auto: %w", err)
		}
		if made {
			logger.Info("made a self-signed certificate for localhost", "dir", "tls")
		}
	default:
		certFile, keyFile, _ := strings.Cut(c.tls, ",")
		var err error
		if cert, err = tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			return nil, usagef("--tls: %v", err)
		}
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// ensureDemoUser creates the demo account when it is missing; an existing
// one is left as it is.
func ensureDemoUser(ctx context.Context, b backend.Backend, logger *slog.Logger) error {
	if _, err := b.UserByUsername(ctx, demoUsername); err == nil {
		return nil
	} else if !errors.Is(err, passkeyd.ErrNotFound) {
		return fmt.Errorf("look up demo user: %w", err)
	}
	u, err := passkeyd.NewUser(demoUsername, "Test User", time.Now())
	if err != nil {
		return err
	}
	if u.PasswordHash, err = hashPassword(ctx, demoPassword); err != nil {
		return err
	}
	if err := b.CreateUser(ctx, u); err != nil && !errors.Is(err, passkeyd.ErrUsernameTaken) {
		return fmt.Errorf("create demo user: %w", err)
	}
	logger.Info("demo account ready", "username", demoUsername)
	return nil
}

// removeDemoUser deletes the demo account, whose password is published,
// when the server starts without --demo: it exists only while --demo is
// given.
func removeDemoUser(ctx context.Context, b backend.Backend, logger *slog.Logger) error {
	u, err := b.UserByUsername(ctx, demoUsername)
	if errors.Is(err, passkeyd.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up demo user: %w", err)
	}
	if err := b.DeleteUser(ctx, u.ID); err != nil && !errors.Is(err, passkeyd.ErrNotFound) {
		return fmt.Errorf("remove demo user: %w", err)
	}
	logger.Warn("the demo account was removed: its password is published, and the server started without --demo", "username", demoUsername)
	return nil
}

// openRedis connects to the Redis session store; one that does not answer
// within connectTimeout is a usage error (exit status 2).
func openRedis(ctx context.Context, url string, logger *slog.Logger) (*redis.Sessions, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	// The Redis client logs through a logger of its own, process-wide.
	// While connecting, our error says it all; once connected, its
	// complaints (a lost connection) go to our log.
	goredis.SetLogger(redisLogger{slog.New(slog.DiscardHandler)})
	rs, err := redis.Open(ctx, url)
	if err != nil {
		return nil, usagef("--sessions %s: %v", redactDSN(url), redactErr(err, url))
	}
	goredis.SetLogger(redisLogger{logger})
	return rs, nil
}

// redisLogger passes the Redis client's messages to slog.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, usagef("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
