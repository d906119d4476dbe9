-- One row that /readyz writes, to prove the database takes writes (a full
-- disk, a read-only mount or a lost lock all fail it).
CREATE TABLE passkeyd_health (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	checked_at INTEGER NOT NULL
) STRICT;
