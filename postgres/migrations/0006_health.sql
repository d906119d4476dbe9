-- One row that /readyz writes, to prove the database takes writes (a full
-- disk, a read-only replica or a lost connection all fail it).
CREATE TABLE passkeyd_health (
	id         INTEGER CONSTRAINT passkeyd_health_pkey PRIMARY KEY CHECK (id = 1),
	checked_at BIGINT NOT NULL
);
