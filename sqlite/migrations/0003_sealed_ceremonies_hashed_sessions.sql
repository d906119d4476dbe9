-- Pending ceremonies are no longer stored: the client keeps them, sealed
-- with a ceremony key (below). What is stored is the record that a
-- challenge was used, written by the finish that used it.
DROP TABLE ceremonies;

-- The challenges used. A challenge starts with its ceremony's expiry (8
-- bytes, big-endian Unix milliseconds), so keys grow with time: a new one
-- lands at one end of the index, and sweeping is a range at the other.
CREATE TABLE used_challenges (
	key BLOB PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- The keys that seal pending ceremonies; the newest unretired one seals.
CREATE TABLE ceremony_keys (
	id         INTEGER PRIMARY KEY,
	secret     BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	retired_at INTEGER
) STRICT;

-- Sessions keep the SHA-256 of their token's secret, never the token, and
-- know their user. The old sessions (scs's layout, raw tokens) are
-- dropped: everyone logs in once more after the upgrade.
DROP TABLE sessions;
CREATE TABLE sessions (
	-- The session's absolute expiry (8 bytes, big-endian Unix
	-- milliseconds), then the SHA-256 of the token's secret: keys grow
	-- with time, like used_challenges'.
	key                 BLOB PRIMARY KEY,
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
	-- When the session ends unless used again. Not indexed: every use
	-- would then move the session in that index too; sessions that ended
	-- this way are found by a scan (see the sqlite package).
	expires_at          INTEGER NOT NULL,
	absolute_expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user_idx ON sessions (user_id);
