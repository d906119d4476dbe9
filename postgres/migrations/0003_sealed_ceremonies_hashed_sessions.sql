-- Pending ceremonies are no longer stored: the client keeps them, sealed
-- with a ceremony key (below). What is stored is the record that a
-- challenge was used, written by the finish that used it.
DROP TABLE ceremonies;

CREATE TABLE used_challenges (
	-- SHA-256 of the challenge. The constraint is named because a replay
	-- is recognised by this name in the unique-violation error.
	key        BYTEA CONSTRAINT used_challenges_key_unique PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX used_challenges_expires_idx ON used_challenges (expires_at);

-- The keys that seal pending ceremonies; the newest unretired one seals.
CREATE TABLE ceremony_keys (
	id         BIGINT PRIMARY KEY,
	secret     BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	retired_at BIGINT
);

-- Sessions keep the SHA-256 of their token, never the token, and know
-- their user. The old sessions (scs's layout, raw tokens) are dropped:
-- everyone logs in once more after the upgrade.
DROP TABLE sessions;
CREATE TABLE sessions (
	token_hash          BYTEA PRIMARY KEY,
	-- The public id, to list and end a session by.
	id                  TEXT COLLATE "C" NOT NULL CONSTRAINT sessions_id_unique UNIQUE,
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
	expires_at          BIGINT NOT NULL,
	absolute_expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
