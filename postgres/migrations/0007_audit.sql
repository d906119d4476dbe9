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
