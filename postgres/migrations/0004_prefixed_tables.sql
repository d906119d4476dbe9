-- passkeyd's tables carry the prefix passkeyd_, so that they can live in
-- a host application's own database (or schema) beside its tables without
-- a collision; so do the names of their indexes and constraints, which
-- PostgreSQL keeps per schema.
ALTER TABLE users RENAME TO passkeyd_users;
ALTER TABLE passkeyd_users RENAME CONSTRAINT users_pkey TO passkeyd_users_pkey;
ALTER TABLE passkeyd_users RENAME CONSTRAINT users_username_key_unique TO passkeyd_users_username_key_unique;
ALTER TABLE passkeyd_users RENAME CONSTRAINT users_webauthn_handle_unique TO passkeyd_users_webauthn_handle_unique;

-- Passkeys lose their foreign key to passkeyd's users: a host application
-- brings its own users, whose ids passkeyd's users table does not hold.
ALTER TABLE passkeys DROP CONSTRAINT passkeys_user_id_fkey;
ALTER TABLE passkeys RENAME TO passkeyd_passkeys;
ALTER TABLE passkeyd_passkeys RENAME CONSTRAINT passkeys_pkey TO passkeyd_passkeys_pkey;
ALTER TABLE passkeyd_passkeys RENAME CONSTRAINT passkeys_credential_id_unique TO passkeyd_passkeys_credential_id_unique;
ALTER INDEX passkeys_user_created_idx RENAME TO passkeyd_passkeys_user_created_idx;

ALTER TABLE sessions RENAME TO passkeyd_sessions;
ALTER TABLE passkeyd_sessions RENAME CONSTRAINT sessions_pkey TO passkeyd_sessions_pkey;
ALTER INDEX sessions_user_idx RENAME TO passkeyd_sessions_user_idx;

ALTER TABLE used_challenges RENAME TO passkeyd_used_challenges;
ALTER TABLE passkeyd_used_challenges RENAME CONSTRAINT used_challenges_key_unique TO passkeyd_used_challenges_key_unique;

ALTER TABLE ceremony_keys RENAME TO passkeyd_ceremony_keys;
ALTER TABLE passkeyd_ceremony_keys RENAME CONSTRAINT ceremony_keys_pkey TO passkeyd_ceremony_keys_pkey;
