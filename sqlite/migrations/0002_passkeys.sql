-- Passkeys (WebAuthn credentials). The public key is a BLOB of any size:
-- RSA keys do not fit the article's 255 characters.
CREATE TABLE passkeys (
	id                   TEXT PRIMARY KEY,
	user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
CREATE INDEX passkeys_user_created_idx ON passkeys (user_id, created_at DESC, id DESC);

-- Pending ceremonies, keyed by the SHA-256 of their challenge and taken
-- (deleted) by the finish that uses them.
CREATE TABLE ceremonies (
	key        BLOB PRIMARY KEY,
	kind       TEXT NOT NULL,
	owner      TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	data       BLOB NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX ceremonies_expires_idx ON ceremonies (expires_at);
