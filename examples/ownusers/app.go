// Command ownusers is an existing web app — its own users table with
// integer ids, its own password login, its own session cookie — that adds
// passkey login with passkeyd. app.go is the app as it was before;
// passkeys.go is everything adding passkeys took.
//
//	go run ./examples/ownusers adduser alice@example.com   # the password on stdin
//	go run ./examples/ownusers                             # http://localhost:8080
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"
)

const schema = `
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), expires INTEGER NOT NULL);`

type app struct {
	db   *sql.DB
	path string
}

func main() {
	addr := flag.String("addr", "localhost:8080", "listen address")
	path := flag.String("db", "app.db", "SQLite database file")
	origin := flag.String("origin", "", "the site's origin (default http://ADDR)")
	flag.Parse()
	if err := run(*addr, *path, cmp.Or(*origin, "http://"+*addr), flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "ownusers:", err)
		os.Exit(1)
	}
}

func run(addr, path, origin string, args []string) error {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	a := &app{db: db, path: path}
	if len(args) == 2 && args[0] == "adduser" {
		pw, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && pw == "" {
			return errors.New("adduser: give the password on stdin")
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(strings.TrimRight(pw, "\r\n")), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		_, err = db.ExecContext(ctx, `INSERT INTO users (email, password_hash) VALUES (?, ?)`, args[1], hash)
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	if err := a.addPasskeys(ctx, mux, origin); err != nil {
		return err
	}
	slog.Info("listening", "addr", addr)
	return http.ListenAndServe(addr, http.NewCrossOriginProtection().Handler(mux))
}

var pages = template.Must(template.New("").Parse(`
{{define "home"}}<!doctype html><title>Home</title><link rel="icon" href="data:,"><script src="/static/passkey.js"></script>
<p id="who">{{if .}}Logged in as {{.}}{{else}}Nobody is logged in. <a href="/login">Log in</a>{{end}}</p>
{{if .}}<form method="post" action="/logout"><button id="logout">Log out</button></form>
<button id="add-passkey">Add a passkey</button> <span id="result"></span>
<script>document.querySelector('#add-passkey').onclick = () => PasskeyAPI.RegisterPasskey('',
  (ok, message) => { document.querySelector('#result').textContent = message; });</script>{{end}}{{end}}
{{define "login"}}<!doctype html><title>Log in</title><link rel="icon" href="data:,"><script src="/static/passkey.js"></script>
<form method="post" action="/login"><p id="login-error">{{.}}</p>
<input name="email" autocomplete="username webauthn" placeholder="E-mail">
<input name="password" type="password" autocomplete="current-password" placeholder="Password">
<button>Log in</button></form><button id="passkey-login">Log in with a passkey</button>
<script>PasskeyAPI.Login({ redirect: '/' });</script>{{end}}`))

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	var email string
	if id, _ := a.currentUser(r); id != 0 {
		_ = a.db.QueryRowContext(r.Context(), `SELECT email FROM users WHERE id = ?`, id).Scan(&email)
	}
	_ = pages.ExecuteTemplate(w, "home", email)
}

func (a *app) loginPage(w http.ResponseWriter, r *http.Request) {
	_ = pages.ExecuteTemplate(w, "login", "")
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	var id int64
	var hash []byte
	err := a.db.QueryRowContext(r.Context(), `SELECT id, password_hash FROM users WHERE email = ?`, r.FormValue("email")).Scan(&id, &hash)
	if err == nil {
		err = bcrypt.CompareHashAndPassword(hash, []byte(r.FormValue("password")))
	}
	if err == nil {
		err = a.startSession(w, r, id)
	}
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		_ = pages.ExecuteTemplate(w, "login", "Wrong e-mail or password.")
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	a.endSession(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// startSession logs user id in with a new session, ending the one r had.
func (a *app) startSession(w http.ResponseWriter, r *http.Request, id int64) error {
	a.endSession(w, r)
	token := rand.Text()
	expires := time.Now().Add(24 * time.Hour)
	if _, err := a.db.ExecContext(r.Context(), `INSERT INTO sessions VALUES (?, ?, ?)`, token, id, expires.Unix()); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: "app_session", Value: token, Path: "/", Expires: expires, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

func (a *app) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("app_session"); err == nil {
		_, _ = a.db.ExecContext(r.Context(), `DELETE FROM sessions WHERE token = ?`, c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: "app_session", Path: "/", MaxAge: -1})
}

// currentUser returns the id of the logged-in user, 0 for nobody.
func (a *app) currentUser(r *http.Request) (int64, error) {
	c, err := r.Cookie("app_session")
	if err != nil {
		return 0, nil
	}
	var id int64
	err = a.db.QueryRowContext(r.Context(), `SELECT user_id FROM sessions WHERE token = ? AND expires > ?`, c.Value, time.Now().Unix()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}
