-- Ways back into an account that lost its passkeys: recovery codes (ten
-- at a time, each used once) and one-time login links an administrator
-- makes. Both are kept only as SHA-256 hashes of long random secrets.
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
