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
