-- The schema that migrations 0001 to 0008 build, made at once in a new
-- database. Every table, index and constraint carries the prefix
-- passkeyd_, so that they can live in a host application's database or
-- schema beside its own; none refers to a table of the application's.
-- TestBaselineIsTheMigrations holds this file to the migrations.
--
-- Times are Unix microseconds (UTC) in BIGINT, as in the SQLite backend,
-- so both backends store, sort and compare the same values. Ids are
-- compared byte by byte (COLLATE "C"), as SQLite does, so that ties break
-- the same way whatever locale the database was created with.

-- passkeyd's own users, for the ready server and apps without users.
CREATE TABLE passkeyd_users (
	id              TEXT COLLATE "C" CONSTRAINT passkeyd_users_pkey PRIMARY KEY,
	username        TEXT NOT NULL,
	-- The case-folded username keeps usernames unique case-insensitively.
	username_key    TEXT NOT NULL CONSTRAINT passkeyd_users_username_key_unique UNIQUE,
	display_name    TEXT NOT NULL,
	-- WebAuthn user handle: random bytes, never personal data.
	webauthn_handle BYTEA NOT NULL CONSTRAINT passkeyd_users_webauthn_handle_unique UNIQUE,
	-- argon2id PHC string; '' when the user has no password.
	password_hash   TEXT NOT NULL DEFAULT '',
	staff           BOOLEAN NOT NULL DEFAULT FALSE,
	created_at      BIGINT NOT NULL,
	last_login_at   BIGINT,
	-- When a staff member locked the account; NULL while it is not.
	locked_at       BIGINT
);

-- Passkeys (WebAuthn credentials). The public key is a BYTEA of any size:
-- RSA keys do not fit the article's 255 characters.
CREATE TABLE passkeyd_passkeys (
	id                   TEXT COLLATE "C" CONSTRAINT passkeyd_passkeys_pkey PRIMARY KEY,
	-- No foreign key: the user may be the host application's.
	user_id              TEXT COLLATE "C" NOT NULL,
	-- Unique across all users, not per user. Named because a duplicate
	-- credential is recognised by this name in the unique-violation error.
	credential_id        BYTEA NOT NULL CONSTRAINT passkeyd_passkeys_credential_id_unique UNIQUE,
	public_key           BYTEA NOT NULL,
	public_key_algorithm BIGINT NOT NULL,
	attestation_type     TEXT NOT NULL,
	attestation_format   TEXT NOT NULL,
	aaguid               BYTEA NOT NULL,
	-- The WebAuthn counter is an unsigned 32-bit number: it does not fit
	-- INTEGER, which is signed.
	sign_count           BIGINT NOT NULL,
	-- JSON array of transport names, as text like SQLite's.
	transports           TEXT NOT NULL,
	attachment           TEXT NOT NULL,
	user_verified        BOOLEAN NOT NULL,
	backup_eligible      BOOLEAN NOT NULL,
	backup_state         BOOLEAN NOT NULL,
	clone_warning        BOOLEAN NOT NULL DEFAULT FALSE,
	name                 TEXT NOT NULL,
	platform             TEXT NOT NULL,
	provider             TEXT NOT NULL,
	enabled              BOOLEAN NOT NULL DEFAULT TRUE,
	created_at           BIGINT NOT NULL,
	last_used_at         BIGINT
);
CREATE INDEX passkeyd_passkeys_user_created_idx ON passkeyd_passkeys (user_id, created_at DESC, id DESC);

-- The challenges used. A challenge starts with its ceremony's expiry (8
-- bytes, big-endian Unix milliseconds), so keys grow with time. The
-- constraint is named because a replay is recognised by this name.
CREATE TABLE passkeyd_used_challenges (
	key BYTEA CONSTRAINT passkeyd_used_challenges_key_unique PRIMARY KEY
);

-- The keys that seal pending ceremonies; the newest unretired one seals.
CREATE TABLE passkeyd_ceremony_keys (
	id         BIGINT CONSTRAINT passkeyd_ceremony_keys_pkey PRIMARY KEY,
	secret     BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	retired_at BIGINT
);

-- Sessions keep the SHA-256 of their token's secret, never the token.
CREATE TABLE passkeyd_sessions (
	-- The session's absolute expiry (8 bytes, big-endian Unix
	-- milliseconds), then the SHA-256 of the token's secret.
	key                 BYTEA CONSTRAINT passkeyd_sessions_pkey PRIMARY KEY,
	-- No foreign key: the user may be the host application's.
	user_id             TEXT COLLATE "C" NOT NULL,
	passkey_id          TEXT COLLATE "C" NOT NULL,
	-- JSON of how the user logged in (the API's Auth).
	auth                TEXT NOT NULL,
	provider            TEXT NOT NULL,
	platform            TEXT NOT NULL,
	browser             TEXT NOT NULL,
	created_at          BIGINT NOT NULL,
	last_seen_at        BIGINT NOT NULL,
	-- When the session ends unless used again. Not indexed, so that using
	-- a session is an update PostgreSQL can make in place (HOT); the
	-- sweep finds such sessions with a scan, which blocks nobody.
	expires_at          BIGINT NOT NULL,
	absolute_expires_at BIGINT NOT NULL
);
CREATE INDEX passkeyd_sessions_user_idx ON passkeyd_sessions (user_id);

-- Attempts counted for rate limits (password guesses per account, per
-- address and per both), shared by every instance: one fixed window per
-- key, which starts with the key's first attempt. The key is a hash, so
-- no username or address is stored as it is.
CREATE TABLE passkeyd_attempts (
	key       BYTEA CONSTRAINT passkeyd_attempts_pkey PRIMARY KEY,
	count     BIGINT NOT NULL,
	resets_at BIGINT NOT NULL
);

-- One row that /readyz writes, to prove the database takes writes (a full
-- disk, a read-only replica or a lost connection all fail it).
CREATE TABLE passkeyd_health (
	id         INTEGER CONSTRAINT passkeyd_health_pkey PRIMARY KEY CHECK (id = 1),
	checked_at BIGINT NOT NULL
);

-- The audit log: an append-only record of each account's security events
-- (logins and their refusals, lock-outs, passkeys added, renamed,
-- disabled, enabled and deleted, clone warnings, ...). Rows are only
-- added, and removed once older than the retention.
CREATE TABLE passkeyd_audit (
	id         BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT passkeyd_audit_pkey PRIMARY KEY,
	at         BIGINT NOT NULL,
	-- '' when no account is known (a refused login of an unknown passkey).
	user_id    TEXT COLLATE "C" NOT NULL,
	event      TEXT NOT NULL,
	method     TEXT NOT NULL,
	passkey_id TEXT NOT NULL,
	platform   TEXT NOT NULL,
	address    TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	reason     TEXT NOT NULL,
	-- Who did it when it was not the user (an administrator); ''.
	actor      TEXT NOT NULL
);
CREATE INDEX passkeyd_audit_user_idx ON passkeyd_audit (user_id, id DESC);
CREATE INDEX passkeyd_audit_at_idx ON passkeyd_audit (at);

CREATE TABLE passkeyd_recovery_codes (
	user_id    TEXT COLLATE "C" NOT NULL,
	code_hash  BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	-- NULL until the code is used.
	used_at    BIGINT,
	CONSTRAINT passkeyd_recovery_codes_pkey PRIMARY KEY (user_id, code_hash)
);
CREATE TABLE passkeyd_login_links (
	link_hash  BYTEA CONSTRAINT passkeyd_login_links_pkey PRIMARY KEY,
	user_id    TEXT COLLATE "C" NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX passkeyd_login_links_expires_idx ON passkeyd_login_links (expires_at);
