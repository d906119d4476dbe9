-- passkeyd's tables carry the prefix passkeyd_, so that they can live in
-- a host application's own database beside its tables (its own users and
-- sessions, say) without a collision.
ALTER TABLE users RENAME TO passkeyd_users;
ALTER TABLE sessions RENAME TO passkeyd_sessions;
DROP INDEX sessions_user_idx;
CREATE INDEX passkeyd_sessions_user_idx ON passkeyd_sessions (user_id);
ALTER TABLE used_challenges RENAME TO passkeyd_used_challenges;
ALTER TABLE ceremony_keys RENAME TO passkeyd_ceremony_keys;

-- Passkeys lose their foreign key to passkeyd's users: a host application
-- brings its own users, whose ids passkeyd's users table does not hold.
-- SQLite drops a foreign key only by building the table anew.
CREATE TABLE passkeyd_passkeys (
	id                   TEXT PRIMARY KEY,
	-- No foreign key: the user may be the host application's.
	user_id              TEXT NOT NULL,
	credential_id        BLOB NOT NULL UNIQUE,
	public_key           BLOB NOT NULL,
	public_key_algorithm INTEGER NOT NULL,
	attestation_type     TEXT NOT NULL,
	attestation_format   TEXT NOT NULL,
	aaguid               BLOB NOT NULL,
	sign_count           INTEGER NOT NULL,
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
INSERT INTO passkeyd_passkeys (id, user_id, credential_id, public_key, public_key_algorithm,
	attestation_type, attestation_format, aaguid, sign_count, transports, attachment,
	user_verified, backup_eligible, backup_state, clone_warning, name, platform, provider,
	enabled, created_at, last_used_at)
SELECT id, user_id, credential_id, public_key, public_key_algorithm,
	attestation_type, attestation_format, aaguid, sign_count, transports, attachment,
	user_verified, backup_eligible, backup_state, clone_warning, name, platform, provider,
	enabled, created_at, last_used_at
FROM passkeys;
DROP TABLE passkeys;
CREATE INDEX passkeyd_passkeys_user_created_idx ON passkeyd_passkeys (user_id, created_at DESC, id DESC);
