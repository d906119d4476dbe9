-- A staff member can lock an account: no login of any kind while
-- locked_at is set (when it was locked), and its sessions end.
ALTER TABLE passkeyd_users ADD COLUMN locked_at BIGINT;
