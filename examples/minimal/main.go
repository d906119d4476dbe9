// Command minimal is the shortest app on passkeyd: passkeyd's users,
// sessions and SQLite store, password and passkey login, and a page to
// add passkeys.
//
//	go run ./examples/minimal adduser alice   # the password on stdin
//	go run ./examples/minimal                 # http://localhost:8080
package main

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/password"
	"github.com/passkeyd/passkeyd/sqlite"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "listen address")
	path := flag.String("db", "minimal.db", "SQLite database file")
	origin := flag.String("origin", "", "the site's origin (default http://ADDR)")
	flag.Parse()
	if err := run(*addr, *path, cmp.Or(*origin, "http://"+*addr), flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "minimal:", err)
		os.Exit(1)
	}
}

func run(addr, path, origin string, args []string) error {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err == nil {
		err = db.Migrate(ctx)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	hasher := password.NewHasher(password.DefaultParams(), 1)
	if len(args) == 2 && args[0] == "adduser" {
		pw, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		u, err := passkeyd.NewUser(args[1], "", time.Now())
		if err == nil {
			u.PasswordHash, err = hasher.Hash(ctx, strings.TrimRight(pw, "\r\n"))
		}
		if err == nil {
			err = db.CreateUser(ctx, u)
		}
		return err
	}
	u, err := url.Parse(origin)
	if err != nil {
		return err
	}
	passkeys, err := passkeyd.NewService(passkeyd.Config{RPID: u.Hostname(), RPName: "Minimal example", Origins: []string{origin}},
		passkeyd.Deps{Users: db, Store: db, Passwords: passkeyd.HashedPasswords(hasher, db)})
	if err == nil {
		err = passkeys.Start(ctx)
	}
	if err != nil {
		return err
	}
	go passkeys.Run(ctx)

	mux := http.NewServeMux()
	passkeys.Routes(mux)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(passkeyd.StaticFS())))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := passkeys.CurrentUser(r)
		_ = page.Execute(w, user)
	})
	slog.Info("listening", "addr", addr)
	return http.ListenAndServe(addr, passkeys.Handler(http.NewCrossOriginProtection().Handler(mux)))
}

// page logs in (by password through the JSON API, or by passkey), and
// adds passkeys and logs out once logged in.
var page = template.Must(template.New("").Parse(`<!doctype html><title>Minimal</title><link rel="icon" href="data:,">
<script src="/static/passkey.js"></script>
{{if .}}<p id="who">Logged in as {{.Username}}</p>
<button id="add-passkey">Add a passkey</button> <span id="result"></span> <button id="logout">Log out</button>
<script>
document.querySelector('#add-passkey').onclick = () => PasskeyAPI.RegisterPasskey('',
  (ok, message) => { document.querySelector('#result').textContent = message; });
document.querySelector('#logout').onclick = () => PasskeyAPI.LogOut().then(() => location.reload());
</script>
{{else}}<p id="who">Nobody is logged in.</p><p id="login-error"></p>
<form id="password-login"><input name="username" autocomplete="username webauthn" placeholder="Username">
<input name="password" type="password" autocomplete="current-password"><button>Log in</button></form>
<button id="passkey-login">Log in with a passkey</button>
<script>
PasskeyAPI.Login({ onLogin: () => location.reload() });
document.querySelector('#password-login').onsubmit = (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  fetch('/api/login/password', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: f.get('username'), password: f.get('password') }) })
    .then((r) => r.ok ? location.reload() : r.json().then((b) => { document.querySelector('#login-error').textContent = b.message; }));
};
</script>{{end}}`))
