-- Attempts counted for rate limits (password guesses per account, per
-- address and per both), shared by every instance: one fixed window per
-- key, which starts with the key's first attempt. The key is a hash, so
-- no username or address is stored as it is.
CREATE TABLE passkeyd_attempts (
	key       BYTEA CONSTRAINT passkeyd_attempts_pkey PRIMARY KEY,
	count     BIGINT NOT NULL,
	resets_at BIGINT NOT NULL
);
