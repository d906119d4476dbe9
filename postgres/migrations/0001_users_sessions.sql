-- Users of the site. Times are Unix microseconds (UTC) in BIGINT, as in
-- the SQLite backend, so both backends store, sort and compare the same
-- values and the Go code converts them one way.
--
-- Ids are compared byte by byte (COLLATE "C"), as SQLite does, so that
-- "ORDER BY created_at, id" breaks ties the same way whatever locale the
-- database was created with.
CREATE TABLE users (
	id              TEXT COLLATE "C" PRIMARY KEY,
	username        TEXT NOT NULL,
	-- The case-folded username keeps usernames unique case-insensitively.
	-- The constraint is named because the Go code recognises a duplicate
	-- username by this name in the unique-violation error.
	username_key    TEXT NOT NULL CONSTRAINT users_username_key_unique UNIQUE,
	display_name    TEXT NOT NULL,
	-- WebAuthn user handle: random bytes, never personal data.
	webauthn_handle BYTEA NOT NULL CONSTRAINT users_webauthn_handle_unique UNIQUE,
	-- argon2id PHC string; '' when the user has no password.
	password_hash   TEXT NOT NULL DEFAULT '',
	staff           BOOLEAN NOT NULL DEFAULT FALSE,
	created_at      BIGINT NOT NULL,
	last_login_at   BIGINT
);

-- Session data, in the layout of github.com/alexedwards/scs/postgresstore.
CREATE TABLE sessions (
	token  TEXT PRIMARY KEY,
	data   BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);
