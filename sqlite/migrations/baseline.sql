-- The schema that migrations 0001 to 0008 build, made at once in a new
-- database. Every table carries the prefix passkeyd_, so that it can live
-- in a host application's database beside its own tables; none refers to
-- a table of the application's. Times are Unix microseconds (UTC), which
-- sort and compare the same in every SQLite driver. TestBaselineIsTheMigrations
-- holds this file to the migrations.

-- passkeyd's own users, for the ready server and apps without users.
CREATE TABLE passkeyd_users (
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
	last_login_at   INTEGER,
	-- When a staff member locked the account; NULL while it is not.
	locked_at       INTEGER
) STRICT;

-- Passkeys (WebAuthn credentials). The public key is a BLOB of any size:
-- RSA keys do not fit the article's 255 characters.
CREATE TABLE passkeyd_passkeys (
	id                   TEXT PRIMARY KEY,
	-- No foreign key: the user may be the host application's.
	user_id              TEXT NOT NULL,
	-- Unique across all users, not per user.
	credential_id        BLOB NOT NULL UNIQUE,
	public_key           BLOB NOT NULL,
	public_key_algorithm INTEGER NOT NULL,
	attestation_type     TEXT NOT NULL,
	attestation_format   TEXT NOT NULL,
	aaguid               BLOB NOT NULL,
	sign_count           INTEGER NOT NULL,
	-- JSON array of transport names.
	transports           TEXT NOT NULL,
	attachment           TEXT NOT NULL,
	user_verified        INTEGER NOT NULL,
	backup_eligible      INTEGER NOT NULL,
	backup_state         INTEGER NOT NULL,
	clone_warning        INTEGER NOT NULL DEFAULT 0,
	name                 TEXT NOT NULL,
	platform             TEXT NOT NULL,
	provider             TEXT NOT NULL,
	enabled              INTEGER NOT NULL DEFAULT 1,
	created_at           INTEGER NOT NULL,
	last_used_at         INTEGER
) STRICT;
CREATE INDEX passkeyd_passkeys_user_created_idx ON passkeyd_passkeys (user_id, created_at DESC, id DESC);

-- The challenges used. A challenge starts with its ceremony's expiry (8
-- bytes, big-endian Unix milliseconds), so keys grow with time: a new one
-- lands at one end of the index, and sweeping is a range at the other.
CREATE TABLE passkeyd_used_challenges (
	key BLOB PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- The keys that seal pending ceremonies; the newest unretired one seals.
CREATE TABLE passkeyd_ceremony_keys (
	id         INTEGER PRIMARY KEY,
	secret     BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	retired_at INTEGER
) STRICT;

-- Sessions keep the SHA-256 of their token's secret, never the token.
CREATE TABLE passkeyd_sessions (
	-- The session's absolute expiry (8 bytes, big-endian Unix
	-- milliseconds), then the SHA-256 of the token's secret: keys grow
	-- with time, like used challenges'.
	key                 BLOB PRIMARY KEY,
	-- No foreign key: the user may be the host application's.
	user_id             TEXT NOT NULL,
	passkey_id          TEXT NOT NULL,
	-- JSON of how the user logged in (the API's Auth).
	auth                TEXT NOT NULL,
	provider            TEXT NOT NULL,
	platform            TEXT NOT NULL,
	browser             TEXT NOT NULL,
	created_at          INTEGER NOT NULL,
	last_seen_at        INTEGER NOT NULL,
	-- When the session ends unless used again. Not indexed: every use
	-- would then move the session in that index too; sessions that ended
	-- this way are found by a scan (see the sqlite package).
	expires_at          INTEGER NOT NULL,
	absolute_expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX passkeyd_sessions_user_idx ON passkeyd_sessions (user_id);

-- Attempts counted for rate limits (password guesses per account, per
-- address and per both), shared by every instance: one fixed window per
-- key, which starts with the key's first attempt. The key is a hash, so
-- no username or address is stored as it is.
CREATE TABLE passkeyd_attempts (
	key       BLOB PRIMARY KEY,
	count     INTEGER NOT NULL,
	resets_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- One row that /readyz writes, to prove the database takes writes (a full
-- disk, a read-only mount or a lost lock all fail it).
CREATE TABLE passkeyd_health (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	checked_at INTEGER NOT NULL
) STRICT;

-- The audit log: an append-only record of each account's security events
-- (logins and their refusals, lock-outs, passkeys added, renamed,
-- disabled, enabled and deleted, clone warnings, ...). Rows are only
-- added, and removed once older than the retention.
CREATE TABLE passkeyd_audit (
	-- The rowid: newer events have higher ids (the retention removes the
	-- oldest), without AUTOINCREMENT and its sqlite_sequence table.
	id         INTEGER PRIMARY KEY,
	at         INTEGER NOT NULL,
	-- '' when no account is known (a refused login of an unknown passkey).
	user_id    TEXT NOT NULL,
	event      TEXT NOT NULL,
	method     TEXT NOT NULL,
	passkey_id TEXT NOT NULL,
	platform   TEXT NOT NULL,
	address    TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	reason     TEXT NOT NULL,
	-- Who did it when it was not the user (an administrator); ''.
	actor      TEXT NOT NULL
) STRICT;
CREATE INDEX passkeyd_audit_user_idx ON passkeyd_audit (user_id, id DESC);
CREATE INDEX passkeyd_audit_at_idx ON passkeyd_audit (at);

CREATE TABLE passkeyd_recovery_codes (
	user_id    TEXT NOT NULL,
	code_hash  BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	-- NULL until the code is used.
	used_at    INTEGER,
	PRIMARY KEY (user_id, code_hash)
) STRICT;
CREATE TABLE passkeyd_login_links (
	link_hash  BLOB PRIMARY KEY,
	user_id    TEXT NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX passkeyd_login_links_expires_idx ON passkeyd_login_links (expires_at);
