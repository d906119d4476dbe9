-- Pending ceremonies are no longer stored: the client keeps them, sealed
-- with a ceremony key (below). What is stored is the record that a
-- challenge was used, written by the finish that used it.
DROP TABLE ceremonies;

-- The challenges used. A challenge starts with its ceremony's expiry (8
-- bytes, big-endian Unix milliseconds), so keys grow with time: a new one
-- lands at one end of the index, and sweeping is a range at the other.
-- The constraint is named because a replay is recognised by this name in
-- the unique-violation error.
CREATE TABLE used_challenges (
	key BYTEA CONSTRAINT used_challenges_key_unique PRIMARY KEY
);

-- The keys that seal pending ceremonies; the newest unretired one seals.
CREATE TABLE ceremony_keys (
	id         BIGINT PRIMARY KEY,
	secret     BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	retired_at BIGINT
);

-- Sessions keep the SHA-256 of their token's secret, never the token, and
-- know their user. The old sessions (scs's layout, raw tokens) are
-- dropped: everyone logs in once more after the upgrade.
DROP TABLE sessions;
CREATE TABLE sessions (
	-- The session's absolute expiry (8 bytes, big-endian Unix
	-- milliseconds), then the SHA-256 of the token's secret: keys grow
	-- with time, like used_challenges'.
	key                 BYTEA PRIMARY KEY,
	-- No foreign key: a host application's users may live elsewhere.
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
CREATE INDEX sessions_user_idx ON sessions (user_id);
