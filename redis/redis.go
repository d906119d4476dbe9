// Package redis keeps passkeyd's sessions in Redis, for deployments that
// run several instances and would rather not put session traffic (a read
// per request, a write a minute per browser) on the database.
//
// Redis keeps the sessions only. Users, passkeys, used challenges and the
// keys that seal pending ceremonies stay in the database: give the
// Service both (passkeyd.Deps{Store: db, SessionStore: redisSessions}). A
// login then writes twice, first its commit to the database and then its
// session to Redis; should the second write fail, the login's challenge
// is used up and nobody is logged in, and the client begins again.
//
// # Layout
//
// A session is a hash at passkeyd:session:<hex of its key>, with
// one field per Session field (times in Unix microseconds, Auth in JSON),
// that Redis expires at the session's ExpiresAt. A set at
// passkeyd:user-sessions:<user id> holds the hex keys of the
// user's sessions, so that they can be listed and ended; it expires no
// earlier than the last of its sessions can, and members whose session
// has expired are dropped as they are found.
//
// Every write that must not interleave with another is one Lua script,
// which Redis runs atomically. The scripts name keys that they derive from
// what they read (a session's user, a user's sessions), so this store
// needs one Redis (or a primary and its replicas), not a Redis Cluster.
package redis

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/passkeyd/passkeyd"
)

// Key prefixes. They keep passkeyd's keys apart from anything else in the
// same Redis database.
const (
	// sessionPrefix is followed by the hex of a session's key.
	sessionPrefix = "passkeyd:session:"
	// userSessionsPrefix is followed by a user id.
	userSessionsPrefix = "passkeyd:user-sessions:"
)

// The session hash's fields.
const (
	fieldUserID            = "user_id"
	fieldPasskeyID         = "passkey_id"
	fieldAuth              = "auth"
	fieldProvider          = "provider"
	fieldPlatform          = "platform"
	fieldBrowser           = "browser"
	fieldCreatedAt         = "created_at"
	fieldLastSeenAt        = "last_seen_at"
	fieldExpiresAt         = "expires_at"
	fieldAbsoluteExpiresAt = "absolute_expires_at"
)

// extendLua is a Lua function the scripts share: extend(key, at) makes
// key expire at Unix millisecond at (a string) unless it expires later
// already. It never shortens an expiry, so a user's set outlives every
// session in it; PEXPIREAT's GT option would do, but for a key without an
// expiry, which GT counts as never expiring.
const extendLua = `
local function extend(key, at)
	local ttl = redis.call('PTTL', key)
	if ttl == -2 then
		return
	end
	if ttl >= 0 then
		local t = redis.call('TIME')
		local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
		if now + ttl >= tonumber(at) then
			return
		end
	end
	redis.call('PEXPIREAT', key, at)
end
`

// createScript stores a new session.
//
// KEYS[1] is the session's key, KEYS[2] its user's set. ARGV[1] is when
// the session expires, ARGV[2] when the user's set may (both Unix
// milliseconds), ARGV[3] the set's member (the hex key), and the
// rest the hash's fields and values.
//
// It returns 1, or 0 when a session has that key already: a key
// is 256 random bits, so that is a bug, and overwriting another's session
// would hand it to whoever holds the new token.
var createScript = goredis.NewScript(extendLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
extend(KEYS[2], ARGV[2])
return 1
`)

// touchScript sets a session's last_seen_at and expires_at, and its key's
// expiry, if the session exists; it returns 1, or 0 when it does not.
//
// The EXISTS comes first because HSET creates the hash it writes to: a
// touch that raced a logout would bring the session back (with none of
// its other fields, until it expired), and the logout would not stick.
//
// KEYS[1] is the session's key. ARGV[1] and ARGV[2] are the new
// last_seen_at and expires_at (Unix microseconds), ARGV[3] the key's new
// expiry (Unix milliseconds), ARGV[4] the user sets' prefix and ARGV[5]
// the set's member (the hex key).
//
// The session is also (re)added to its user's set, whose expiry is
// extended to the session's: a live session then is always in a set that
// outlives it, even should a caller move ExpiresAt past
// AbsoluteExpiresAt, and no session escapes the listing or "log out
// everywhere".
var touchScript = goredis.NewScript(extendLua + `
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
local user = redis.call('HGET', KEYS[1], 'user_id')
redis.call('HSET', KEYS[1], 'last_seen_at', ARGV[1], 'expires_at', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
if user then
	local set = ARGV[4] .. user
	redis.call('SADD', set, ARGV[5])
	extend(set, ARGV[3])
end
return 1
`)

// deleteScript deletes a session and takes it out of its user's set,
// reading the user from the session before it goes. It returns how many
// sessions it deleted: 0 or 1.
//
// KEYS[1] is the session's key; ARGV[1] is the user sets' prefix and
// ARGV[2] the set's member (the hex key).
var deleteScript = goredis.NewScript(`
local user = redis.call('HGET', KEYS[1], 'user_id')
if user then
	redis.call('SREM', ARGV[1] .. user, ARGV[2])
end
return redis.call('DEL', KEYS[1])
`)

// deleteUserScript deletes a user's sessions but one, in one step, so
// that no session of the user's is touched, listed or kept alive half
// way through. It returns how many sessions it deleted; members whose
// session had expired already are dropped from the set but not counted.
//
// KEYS[1] is the user's set. ARGV[1] is the sessions' prefix, ARGV[2]
// the member to keep ("" keeps none), ARGV[3] the user id: a session
// that belongs to somebody else is never deleted, whatever the set says.
var deleteUserScript = goredis.NewScript(`
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	if m ~= ARGV[2] then
		local key = ARGV[1] .. m
		local user = redis.call('HGET', key, 'user_id')
		if user == ARGV[3] then
			n = n + redis.call('DEL', key)
		end
		redis.call('SREM', KEYS[1], m)
	end
end
return n
`)

// Sessions is a passkeyd.SessionStore in Redis.
type Sessions struct {
	client *goredis.Client
}

var _ passkeyd.SessionStore = (*Sessions)(nil)

// Open connects to the Redis at url ("redis://HOST:PORT/N", with
// "rediss://" for TLS and an optional user and password) and checks that
// it answers within ctx.
func Open(ctx context.Context, url string) (*Sessions, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	// Without this the client ignores a context's deadline on the socket
	// and waits out its own read (3 s) and dial (5 s) timeouts: /healthz's
	// 2 s bound would not hold while Redis hangs.
	opts.ContextTimeoutEnabled = true
	client := goredis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis: %s does not answer: %w", opts.Addr, err)
	}
	return &Sessions{client: client}, nil
}

// Ping reports whether Redis answers.
func (s *Sessions) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Sessions) Close() error { return s.client.Close() }

// sessionKey is the key of the session with that key.
func redisSessionKey(member string) string { return sessionPrefix + member }

// userKey is the key of the set of userID's sessions.
func userKey(userID string) string { return userSessionsPrefix + userID }

// micros is how a time is kept in a session's hash.
func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// expireAt is the Unix millisecond a key that must last until t expires
// at: rounded up, so that Redis never drops a session before its time.
func expireAt(t time.Time) string {
	ms := t.UnixMilli()
	if t.UnixMicro()%1000 > 0 {
		ms++
	}
	return strconv.FormatInt(ms, 10)
}

// CreateSession implements passkeyd.SessionStore: it writes the session,
// its expiry and its place in its user's set in one step, so that no
// session exists that "log out everywhere" would miss.
func (s *Sessions) CreateSession(ctx context.Context, sess *passkeyd.Session) error {
	if len(sess.Key) == 0 {
		return errors.New("redis: create session: no key")
	}
	auth, err := json.Marshal(sess.Auth)
	if err != nil {
		return fmt.Errorf("redis: create session: encode auth: %w", err)
	}
	member := hex.EncodeToString(sess.Key)
	// The set must outlast every session in it; ExpiresAt is never later
	// than AbsoluteExpiresAt, but a set that outlives a session does no
	// harm and one that dies first hides it.
	setExpiry := sess.AbsoluteExpiresAt
	if sess.ExpiresAt.After(setExpiry) {
		setExpiry = sess.ExpiresAt
	}
	args := []any{
		expireAt(sess.ExpiresAt), expireAt(setExpiry), member,
		fieldUserID, sess.UserID,
		fieldPasskeyID, sess.PasskeyID,
		fieldAuth, string(auth),
		fieldProvider, sess.Provider,
		fieldPlatform, sess.Platform,
		fieldBrowser, sess.Browser,
		fieldCreatedAt, micros(sess.CreatedAt),
		fieldLastSeenAt, micros(sess.LastSeenAt),
		fieldExpiresAt, micros(sess.ExpiresAt),
		fieldAbsoluteExpiresAt, micros(sess.AbsoluteExpiresAt),
	}
	created, err := createScript.Run(ctx, s.client, []string{redisSessionKey(member), userKey(sess.UserID)}, args...).Int64()
	if err != nil {
		return fmt.Errorf("redis: create session: %w", err)
	}
	if created == 0 {
		return fmt.Errorf("redis: create session %s: a session with that key exists", sess.ID())
	}
	return nil
}

// SessionByKey implements passkeyd.SessionStore. Unlike a database,
// which keeps an expired session until DeleteExpiredSessions sweeps it,
// Redis drops a session at its ExpiresAt: then it is ErrNotFound, which
// passkeyd treats as it does an expired session.
func (s *Sessions) SessionByKey(ctx context.Context, key []byte) (*passkeyd.Session, error) {
	fields, err := s.client.HGetAll(ctx, redisSessionKey(hex.EncodeToString(key))).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: session by token: %w", err)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("redis: session by token: %w", passkeyd.ErrNotFound)
	}
	sess, err := decode(key, fields)
	if err != nil {
		return nil, fmt.Errorf("redis: session by token: %w", err)
	}
	return sess, nil
}

// decode makes a session of its hash's fields.
func decode(key []byte, fields map[string]string) (*passkeyd.Session, error) {
	sess := &passkeyd.Session{
		Key:       slices.Clone(key),
		UserID:    fields[fieldUserID],
		PasskeyID: fields[fieldPasskeyID],
		Provider:  fields[fieldProvider],
		Platform:  fields[fieldPlatform],
		Browser:   fields[fieldBrowser],
	}
	// A hash without these is not one CreateSession wrote (nothing else
	// writes whole sessions): better an error than a session of nobody.
	for _, f := range []string{fieldUserID, fieldAuth} {
		if _, ok := fields[f]; !ok {
			return nil, fmt.Errorf("session %x: no %s", key, f)
		}
	}
	if err := json.Unmarshal([]byte(fields[fieldAuth]), &sess.Auth); err != nil {
		return nil, fmt.Errorf("session %s: auth: %w", sess.ID(), err)
	}
	for _, t := range []struct {
		field string
		to    *time.Time
	}{
		{fieldCreatedAt, &sess.CreatedAt},
		{fieldLastSeenAt, &sess.LastSeenAt},
		{fieldExpiresAt, &sess.ExpiresAt},
		{fieldAbsoluteExpiresAt, &sess.AbsoluteExpiresAt},
	} {
		us, err := strconv.ParseInt(fields[t.field], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("session %s: %s: %w", sess.ID(), t.field, err)
		}
		*t.to = time.UnixMicro(us).UTC()
	}
	return sess, nil
}

// TouchSession implements passkeyd.SessionStore. It changes a session
// that exists and never makes one: a session deleted meanwhile stays
// deleted, and the touch is ErrNotFound.
func (s *Sessions) TouchSession(ctx context.Context, key []byte, seen, expires time.Time) error {
	member := hex.EncodeToString(key)
	touched, err := touchScript.Run(ctx, s.client, []string{redisSessionKey(member)},
		micros(seen), micros(expires), expireAt(expires), userSessionsPrefix, member).Int64()
	if err != nil {
		return fmt.Errorf("redis: touch session: %w", err)
	}
	if touched == 0 {
		return fmt.Errorf("redis: touch session: %w", passkeyd.ErrNotFound)
	}
	return nil
}

// DeleteSession implements passkeyd.SessionStore.
func (s *Sessions) DeleteSession(ctx context.Context, key []byte) error {
	member := hex.EncodeToString(key)
	if err := deleteScript.Run(ctx, s.client, []string{redisSessionKey(member)}, userSessionsPrefix, member).Err(); err != nil {
		return fmt.Errorf("redis: delete session: %w", err)
	}
	return nil
}

// UserSessions implements passkeyd.SessionStore. Sessions that Redis has
// expired are still in the user's set; they are skipped and taken out of
// it. (Taking one out cannot lose a live session: a key that is
// gone never comes back, as only a new login makes a session, with a new
// token.)
func (s *Sessions) UserSessions(ctx context.Context, userID string) ([]*passkeyd.Session, error) {
	set := userKey(userID)
	members, err := s.client.SMembers(ctx, set).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: user sessions: %w", err)
	}
	out := []*passkeyd.Session{}
	if len(members) == 0 {
		return out, nil
	}
	cmds := make([]*goredis.MapStringStringCmd, len(members))
	if _, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, m := range members {
			cmds[i] = p.HGetAll(ctx, redisSessionKey(m))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("redis: user sessions: %w", err)
	}
	var gone []any
	for i, m := range members {
		fields := cmds[i].Val()
		if len(fields) == 0 {
			gone = append(gone, m)
			continue
		}
		hash, err := hex.DecodeString(m)
		if err != nil {
			return nil, fmt.Errorf("redis: user sessions: member %q: %w", m, err)
		}
		sess, err := decode(hash, fields)
		if err != nil {
			return nil, fmt.Errorf("redis: user sessions: %w", err)
		}
		if sess.UserID != userID {
			// Not this user's, whatever the set says: never list it.
			continue
		}
		out = append(out, sess)
	}
	if len(gone) > 0 {
		if err := s.client.SRem(ctx, set, gone...).Err(); err != nil {
			return nil, fmt.Errorf("redis: user sessions: drop expired: %w", err)
		}
	}
	slices.SortFunc(out, func(a, b *passkeyd.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(b.Key, a.Key)
	})
	return out, nil
}

// DeleteUserSessions implements passkeyd.SessionStore, in one step: see
// deleteUserScript.
func (s *Sessions) DeleteUserSessions(ctx context.Context, userID string, keep []byte) (int64, error) {
	// hex of nil is "", which is no member.
	n, err := deleteUserScript.Run(ctx, s.client, []string{userKey(userID)}, sessionPrefix, hex.EncodeToString(keep), userID).Int64()
	if err != nil {
		return 0, fmt.Errorf("redis: delete user sessions: %w", err)
	}
	return n, nil
}

// DeleteExpiredSessions implements passkeyd.SessionStore. It has nothing
// to do: each session's key expires at its ExpiresAt, and Redis deletes it
// then by itself (what a user's set still names, UserSessions drops). So
// it deletes nothing and says so.
func (s *Sessions) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	return 0, nil
}
