-- Users of the site. Times are Unix microseconds (UTC), which sort and
-- compare the same in every SQLite driver.
CREATE TABLE users (
	id              TEXT PRIMARY KEY,
	username        TEXT NOT NULL,
	-- The case-folded username keeps usernames unique case-insensitively.
	username_key    TEXT NOT NULL UNIQUE,
	display_name    TEXT NOT NULL,
	-- WebAuthn user handle: random bytes, never personal data.
	webauthn_handle BLOB NOT NULL UNIQUE,
	-- argon2id PHC string; '' when the user has no password.
	password_hash   TEXT NOT NULL DEFAULT '',
	staff           INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	last_login_at   INTEGER
) STRICT;

-- Session data, in the layout of github.com/alexedwards/scs/sqlite3store.
CREATE TABLE sessions (
	token  TEXT PRIMARY KEY,
	data   BLOB NOT NULL,
	expiry REAL NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);
