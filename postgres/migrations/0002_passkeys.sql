-- Passkeys (WebAuthn credentials). The public key is a BYTEA of any size:
-- RSA keys do not fit the article's 255 characters.
CREATE TABLE passkeys (
	id                   TEXT COLLATE "C" PRIMARY KEY,
	user_id              TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	-- Unique across all users, not per user. Named because the Go code
	-- recognises a duplicate credential by this name.
	credential_id        BYTEA NOT NULL CONSTRAINT passkeys_credential_id_unique UNIQUE,
	public_key           BYTEA NOT NULL,
	public_key_algorithm BIGINT NOT NULL,
	attestation_type     TEXT NOT NULL,
	attestation_format   TEXT NOT NULL,
	aaguid               BYTEA NOT NULL,
	-- The WebAuthn counter is an unsigned 32-bit number: it does not fit
	-- INTEGER, which is signed.
	sign_count           BIGINT NOT NULL,
	-- JSON array of transport names, as text like SQLite's: nothing
	-- queries inside it.
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
CREATE INDEX passkeys_user_created_idx ON passkeys (user_id, created_at DESC, id DESC);

-- Pending ceremonies, keyed by the SHA-256 of their challenge and taken
-- (deleted) by the finish that uses them.
CREATE TABLE ceremonies (
	key        BYTEA PRIMARY KEY,
	kind       TEXT NOT NULL,
	owner      TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	data       BYTEA NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX ceremonies_expires_idx ON ceremonies (expires_at);
