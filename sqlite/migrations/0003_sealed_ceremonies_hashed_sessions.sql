-- Pending ceremonies are no longer stored: the client keeps them, sealed
-- with a ceremony key (below). What is stored is the record that a
-- challenge was used, written by the finish that used it.
DROP TABLE ceremonies;

CREATE TABLE used_challenges (
	-- SHA-256 of the challenge.
	key        BLOB PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX used_challenges_expires_idx ON used_challenges (expires_at);

-- The keys that seal pending ceremonies; the newest unretired one seals.
CREATE TABLE ceremony_keys (
	id         INTEGER PRIMARY KEY,
	secret     BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	retired_at INTEGER
) STRICT;

-- Sessions keep the SHA-256 of their token, never the token, and know
-- their user. The old sessions (scs's layout, raw tokens) are dropped:
-- everyone logs in once more after the upgrade.
DROP TABLE sessions;
CREATE TABLE sessions (
	token_hash          BLOB PRIMARY KEY,
	-- The public id, to list and end a session by.
	id                  TEXT NOT NULL UNIQUE,
	-- No foreign key: a host application's users may live elsewhere.
	user_id             TEXT NOT NULL,
	passkey_id          TEXT NOT NULL,
	-- JSON of how the user logged in (the API's Auth).
	auth                TEXT NOT NULL,
	provider            TEXT NOT NULL,
	platform            TEXT NOT NULL,
	browser             TEXT NOT NULL,
	created_at          INTEGER NOT NULL,
	last_seen_at        INTEGER NOT NULL,
	expires_at          INTEGER NOT NULL,
	absolute_expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
