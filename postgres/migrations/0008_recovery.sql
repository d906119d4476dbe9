-- Ways back into an account that lost its passkeys: recovery codes (ten
-- at a time, each used once) and one-time login links an administrator
-- makes. Both are kept only as SHA-256 hashes of long random secrets.
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
