package main

// Everything adding passkeys took: the app's users and sessions as
// passkeyd sees them, and the wiring. passkeyd's tables (passkeyd_*) live
// in the app's own database file and reference none of the app's.

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/sqlite"
)

// passkeyUsers are the app's users as passkeyd sees them. Each user gets
// a WebAuthn handle the first time passkeyd asks for them.
type passkeyUsers struct{ db *sql.DB }

const handles = `CREATE TABLE IF NOT EXISTS user_handles (user_id INTEGER PRIMARY KEY REFERENCES users (id), handle BLOB NOT NULL UNIQUE)`

func (u passkeyUsers) UserByID(ctx context.Context, id string) (*passkeyd.User, error) {
	return u.find(ctx, `users.id = ?`, id)
}

func (u passkeyUsers) UserByHandle(ctx context.Context, handle []byte) (*passkeyd.User, error) {
	return u.find(ctx, `users.id = (SELECT user_id FROM user_handles WHERE handle = ?)`, handle)
}

func (u passkeyUsers) UserByUsername(ctx context.Context, email string) (*passkeyd.User, error) {
	return u.find(ctx, `users.email = ?`, email)
}

func (u passkeyUsers) find(ctx context.Context, where string, arg any) (*passkeyd.User, error) {
	var id int64
	var email string
	err := u.db.QueryRowContext(ctx, `SELECT id, email FROM users WHERE `+where, arg).Scan(&id, &email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, passkeyd.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	// The first ask makes the handle; any later one reads it.
	_, err = u.db.ExecContext(ctx, `INSERT INTO user_handles VALUES (?, ?) ON CONFLICT DO NOTHING`, id, passkeyd.NewUserHandle())
	user := &passkeyd.User{ID: strconv.FormatInt(id, 10), Username: email, DisplayName: email}
	if err == nil {
		err = u.db.QueryRowContext(ctx, `SELECT handle FROM user_handles WHERE user_id = ?`, id).Scan(&user.Handle)
	}
	return user, err
}

// passkeySessions are the app's sessions as passkeyd sees them: a passkey
// login starts one of the app's sessions, and no cookie of passkeyd's.
type passkeySessions struct{ app *app }

func (s passkeySessions) CurrentUserID(r *http.Request) (string, error) {
	id, err := s.app.currentUser(r)
	if id == 0 {
		return "", err
	}
	return strconv.FormatInt(id, 10), err
}

func (s passkeySessions) LogIn(w http.ResponseWriter, r *http.Request, u *passkeyd.User, _ passkeyd.Auth) error {
	id, err := strconv.ParseInt(u.ID, 10, 64)
	if err != nil {
		return err
	}
	return s.app.startSession(w, r, id)
}

func (s passkeySessions) LogOut(w http.ResponseWriter, r *http.Request) error {
	s.app.endSession(w, r)
	return nil
}

// addPasskeys serves passkeyd's JSON API and passkey.js on mux.
func (a *app) addPasskeys(ctx context.Context, mux *http.ServeMux, origin string) error {
	if _, err := a.db.ExecContext(ctx, handles); err != nil {
		return err
	}
	store, err := sqlite.Open(ctx, a.path)
	if err == nil {
		err = store.Migrate(ctx)
	}
	if err != nil {
		return err
	}
	u, err := url.Parse(origin)
	if err != nil {
		return err
	}
	passkeys, err := passkeyd.NewService(passkeyd.Config{RPID: u.Hostname(), RPName: "Own users example", Origins: []string{origin}},
		passkeyd.Deps{Users: passkeyUsers{a.db}, Store: store, AppSessions: passkeySessions{a}})
	if err == nil {
		err = passkeys.Start(ctx)
	}
	if err != nil {
		return err
	}
	go passkeys.Run(ctx)
	passkeys.Routes(mux)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(passkeyd.StaticFS())))
	return nil
}
