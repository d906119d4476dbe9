// Package site is passkeyd's web site: the pages and the middleware every
// response goes through, built on the passkeyd package's public API as
// any host app would be. cmd/passkeyd wires it to a store and a listener.
package site

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd"
)

// healthTimeout bounds how long /healthz waits for the database.
const healthTimeout = 2 * time.Second

// Config is the site's configuration.
type Config struct {
	// Origins are the site's origins ("https://example.com"); form posts
	// and API calls from them are trusted.
	Origins []string
	// RelatedOrigins are other sites' origins this server also answers
	// for (Config.RelatedOrigins of passkeyd): their pages are served,
	// but their form posts to the site's own origins are not trusted.
	RelatedOrigins []string
	// Logger receives one line per request and every fault.
	Logger *slog.Logger
	// Instrument, when set, wraps the handler of each route, by its
	// pattern: the server measures each route's latency with it.
	Instrument func(pattern string, h http.Handler) http.Handler
}

// Deps are what the site is built on.
type Deps struct {
	// Passkeys is the login: passkey ceremonies, password login,
	// sessions and the JSON API.
	Passkeys *passkeyd.Service
	// Health reports whether the database answers: /healthz, liveness.
	Health func(ctx context.Context) error
	// Ready reports whether the site can serve: the database takes a
	// write and is the one opened, the session store answers: /readyz.
	Ready func(ctx context.Context) error
	// Metrics, when set, serves GET /metrics to clients on this machine
	// (a loopback peer, not through a proxy).
	Metrics http.Handler
}

// Site serves passkeyd's pages and API.
type Site struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	secure bool
	views  *views
	// routes are the patterns Handler registered.
	routes []string
}

// router is a ServeMux that keeps the patterns registered on it, and
// instruments each route when asked to.
type router struct {
	mux        *http.ServeMux
	patterns   []string
	instrument func(pattern string, h http.Handler) http.Handler
}

func (r *router) Handle(pattern string, h http.Handler) {
	r.patterns = append(r.patterns, pattern)
	if r.instrument != nil {
		h = r.instrument(pattern, h)
	}
	r.mux.Handle(pattern, h)
}

func (r *router) HandleFunc(pattern string, h http.HandlerFunc) { r.Handle(pattern, h) }

// Routes returns the patterns of every route of the site, the JSON API's
// included, once Handler has been called: for the test that holds
// docs/openapi.yaml to the real handlers.
func (s *Site) Routes() []string { return s.routes }

// New checks the configuration and parses the templates, so that a broken
// template fails the start, not a request.
func New(cfg Config, deps Deps) (*Site, error) {
	if len(cfg.Origins) == 0 {
		return nil, errors.New("site: at least one origin is needed")
	}
	for _, o := range cfg.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" && u.Path != "/" {
			return nil, fmt.Errorf("site: origin %q is not of the form https://host[:port]", o)
		}
	}
	if deps.Health == nil || deps.Ready == nil || deps.Passkeys == nil {
		return nil, errors.New("site: Passkeys, Health and Ready are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := newViews(deps.Passkeys.Messages())
	if err != nil {
		return nil, err
	}
	return &Site{cfg: cfg, deps: deps, log: cfg.Logger, secure: passkeyd.ServedOverHTTPS(cfg.Origins), views: v}, nil
}

// Secure reports whether the site is served over HTTPS (an https origin),
// which decides the cookie's Secure flag and HSTS.
func (s *Site) Secure() bool { return s.secure }

// Handler returns the site with all its middleware.
func (s *Site) Handler() (http.Handler, error) {
	pages := &router{mux: http.NewServeMux(), instrument: s.cfg.Instrument}
	pages.HandleFunc("GET /{$}", s.home)
	pages.HandleFunc("GET /login", s.loginForm)
	pages.HandleFunc("POST /login", s.loginSubmit)
	pages.HandleFunc("POST /logout", s.logout)
	pages.HandleFunc("POST /lang", s.setLanguage)
	pages.HandleFunc("GET /recover/{token}", s.recoverPage)
	pages.HandleFunc("POST /recover/{token}", s.recoverSubmit)
	pages.HandleFunc("GET /signup", s.signUpPage)
	pages.HandleFunc("POST /signup", s.signUpSubmit)
	pages.HandleFunc("GET /passkeys", s.passkeysPage)
	pages.HandleFunc("GET /activity", s.activityPage)
	pages.HandleFunc("GET /admin/{$}", s.adminUsersPage)
	pages.HandleFunc("GET /admin/users/{id}", s.adminUserPage)
	pages.HandleFunc("/admin/", s.adminNotFound)
	pages.HandleFunc("GET /sessions", s.sessionsPage)
	pages.HandleFunc("POST /sessions/{id}/end", s.sessionsAction(noFields, s.endSession))
	pages.HandleFunc("POST /sessions/logout-others", s.sessionsAction(noFields, s.endOtherSessions))
	pages.HandleFunc("POST /password", s.sessionsAction(passwordFields, s.changePassword))
	pages.HandleFunc("POST /display-name", s.sessionsAction(displayNameFields, s.setDisplayName))
	pages.HandleFunc("POST /recovery-codes", s.newRecoveryCodes)
	pages.HandleFunc("POST /passkeys/{id}/toggle", s.passkeyAction(s.togglePasskey, noFields, true))
	pages.HandleFunc("POST /passkeys/{id}/rename", s.passkeyAction(s.renamePasskey, renameFields, false))
	pages.HandleFunc("POST /passkeys/{id}/delete", s.passkeyAction(s.deletePasskey, noFields, true))
	s.deps.Passkeys.Routes(pages)

	cop := http.NewCrossOriginProtection()
	for _, o := range s.cfg.Origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("site: trusted origin %q: %w", o, err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errCrossOrigin)
	}))

	// Everything but static files and the health check runs inside a
	// session, so even an error page can say who is logged in.
	s.routes = pages.patterns
	var app http.Handler = s.withFallback(pages.mux)
	app = cop.Handler(app)
	app = s.limitBody(app)
	app = s.deps.Passkeys.Handler(app)
	app = withDeadline(app)
	app = s.checkHost(app)

	root := http.NewServeMux()
	root.Handle("GET /static/", s.views.static())
	root.HandleFunc("GET /healthz", s.healthz)
	root.HandleFunc("GET /readyz", s.readyz)
	if s.deps.Metrics != nil {
		root.Handle("GET /metrics", localOnly(s.deps.Metrics))
	}
	root.Handle("/", app)

	var h http.Handler = root
	h = s.securityHeaders(h)
	h = s.recoverPanics(h)
	h = s.logRequests(h)
	return h, nil
}

// localOnly serves h to clients on this machine only: a loopback peer that
// is not a proxy passing a request on (no X-Forwarded-For). Anyone else
// gets 404, as for a route that does not exist.
func localOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !peer.Addr().Unmap().IsLoopback() || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// checkHost answers 421 Misdirected Request to a request whose Host names
// none of the origins' hosts: the site answers only for its own names, so a
// page is never served (nor a cookie set) under a name an attacker
// pointed at it. Health checks and static files, which a load balancer
// asks for by address, are not checked.
func (s *Site) checkHost(next http.Handler) http.Handler {
	hosts := map[string]bool{}
	for _, o := range slices.Concat(s.cfg.Origins, s.cfg.RelatedOrigins) {
		if u, err := url.Parse(o); err == nil {
			hosts[strings.ToLower(u.Hostname())] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The name decides, not the port: a proxy may pass the port on
		// or not, and the name is what an attacker would change.
		name := r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			name = h
		}
		if !hosts[strings.ToLower(strings.Trim(name, "[]"))] {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusMisdirectedRequest)
			_, _ = w.Write([]byte("This server does not answer for that host name. Use " + s.cfg.Origins[0] + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
