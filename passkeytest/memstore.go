package passkeytest

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/passkeyd/passkeyd"
)

// MemoryStore keeps users, passkeys, sessions, used challenges, ceremony
// keys and attempts in memory: a passkeyd.UserStore and passkeyd.Store for
// tests and examples. It passes the same conformance suite (storetest) as
// the real backends. Every method holds one mutex throughout, so each
// commit is atomic, and values are copied in and out, so callers never
// share memory with the store. The zero value is not ready: use
// NewMemoryStore.
type MemoryStore struct {
	mu       sync.Mutex
	users    map[string]*passkeyd.User
	passkeys map[string]*passkeyd.Passkey
	// sessions are keyed by string(Key).
	sessions map[string]*passkeyd.Session
	// challenges maps string(UsedChallenge.Key) to its expiry.
	challenges map[string]time.Time
	keys       map[uint32]passkeyd.CeremonyKey
	// attempts are keyed by string(key).
	attempts map[string]attemptWindow
	// audit is the audit log, oldest first.
	audit []passkeyd.AuditEvent
	// recoveryCodes maps a user id to their codes' hashes (as strings)
	// and whether each is used.
	recoveryCodes map[string]map[string]bool
	// links maps a login link's hash (as a string) to its user and expiry.
	links map[string]loginLink
}

type loginLink struct {
	userID  string
	expires time.Time
}

// attemptWindow is one key's attempts.
type attemptWindow struct {
	count    int
	resetsAt time.Time
}

var (
	_ passkeyd.UserStore = (*MemoryStore)(nil)
	_ passkeyd.Store     = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		users:      map[string]*passkeyd.User{},
		passkeys:   map[string]*passkeyd.Passkey{},
		sessions:   map[string]*passkeyd.Session{},
		challenges: map[string]time.Time{},
		keys:       map[uint32]passkeyd.CeremonyKey{},
		attempts:   map[string]attemptWindow{},

		recoveryCodes: map[string]map[string]bool{},
		links:         map[string]loginLink{},
	}
}

// stored is a time as the SQL backends keep it: UTC, to the microsecond.
// Storing the same here keeps tests from passing on the memory store and
// failing on a database.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Copies go in and out, so callers never share memory with the store.
func copyUser(u *passkeyd.User) *passkeyd.User {
	c := *u
	c.Handle = bytes.Clone(u.Handle)
	c.CreatedAt, c.LastLoginAt = stored(u.CreatedAt), stored(u.LastLoginAt)
	return &c
}

func copyPasskey(p *passkeyd.Passkey) *passkeyd.Passkey {
	c := *p
	c.CredentialID = bytes.Clone(p.CredentialID)
	c.PublicKey = bytes.Clone(p.PublicKey)
	c.AAGUID = bytes.Clone(p.AAGUID)
	c.Transports = append([]string{}, p.Transports...)
	c.CreatedAt, c.LastUsedAt = stored(p.CreatedAt), stored(p.LastUsedAt)
	return &c
}

func copySession(s *passkeyd.Session) *passkeyd.Session {
	c := *s
	c.Key = bytes.Clone(s.Key)
	c.Auth.Name = copyPtr(s.Auth.Name)
	c.Auth.ID = copyPtr(s.Auth.ID)
	c.Auth.Platform = copyPtr(s.Auth.Platform)
	c.Auth.CrossPlatform = copyPtr(s.Auth.CrossPlatform)
	c.CreatedAt, c.LastSeenAt = stored(s.CreatedAt), stored(s.LastSeenAt)
	c.ExpiresAt, c.AbsoluteExpiresAt = stored(s.ExpiresAt), stored(s.AbsoluteExpiresAt)
	return &c
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func copyKey(k passkeyd.CeremonyKey) passkeyd.CeremonyKey {
	k.Secret = bytes.Clone(k.Secret)
	k.CreatedAt, k.RetiredAt = stored(k.CreatedAt), stored(k.RetiredAt)
	return k
}

// CreateUser implements passkeyd.UserStore.
func (m *MemoryStore) CreateUser(_ context.Context, u *passkeyd.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := passkeyd.UsernameKey(u.Username)
	if key == "" {
		return passkeyd.ErrInvalidUsername
	}
	for _, other := range m.users {
		if passkeyd.UsernameKey(other.Username) == key {
			return passkeyd.ErrUsernameTaken
		}
	}
	m.users[u.ID] = copyUser(u)
	return nil
}

// UserByID implements passkeyd.UserStore.
func (m *MemoryStore) UserByID(_ context.Context, id string) (*passkeyd.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, passkeyd.ErrNotFound
	}
	return copyUser(u), nil
}

// UserByUsername implements passkeyd.UserStore.
func (m *MemoryStore) UserByUsername(_ context.Context, username string) (*passkeyd.User, error) {
	return m.findUser(func(u *passkeyd.User) bool {
		key := passkeyd.UsernameKey(username)
		return key != "" && passkeyd.UsernameKey(u.Username) == key
	})
}

// UserByHandle implements passkeyd.UserStore.
func (m *MemoryStore) UserByHandle(_ context.Context, handle []byte) (*passkeyd.User, error) {
	return m.findUser(func(u *passkeyd.User) bool { return bytes.Equal(u.Handle, handle) })
}

func (m *MemoryStore) findUser(match func(*passkeyd.User) bool) (*passkeyd.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if match(u) {
			return copyUser(u), nil
		}
	}
	return nil, passkeyd.ErrNotFound
}

// ListUsers implements passkeyd.UserStore.
func (m *MemoryStore) ListUsers(context.Context) ([]*passkeyd.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []*passkeyd.User{}
	for _, u := range m.users {
		out = append(out, copyUser(u))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// SearchUsers implements passkeyd.UserStore.
func (m *MemoryStore) SearchUsers(_ context.Context, query string, offset, limit int) ([]*passkeyd.User, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := strings.ToLower(query)
	var match []*passkeyd.User
	for _, u := range m.users {
		if strings.Contains(passkeyd.UsernameKey(u.Username), q) || strings.Contains(strings.ToLower(u.DisplayName), q) {
			match = append(match, copyUser(u))
		}
	}
	sort.Slice(match, func(i, j int) bool {
		return passkeyd.UsernameKey(match[i].Username) < passkeyd.UsernameKey(match[j].Username)
	})
	total := len(match)
	match = match[min(offset, total):]
	return match[:min(limit, len(match))], total, nil
}

// SetLocked implements passkeyd.UserStore.
func (m *MemoryStore) SetLocked(_ context.Context, userID string, at time.Time) error {
	return m.updateUser(userID, func(u *passkeyd.User) { u.LockedAt = stored(at) })
}

// SetStaff implements passkeyd.UserStore.
func (m *MemoryStore) SetStaff(_ context.Context, userID string, staff bool) error {
	return m.updateUser(userID, func(u *passkeyd.User) { u.Staff = staff })
}

// SetPasswordHash implements passkeyd.UserStore.
func (m *MemoryStore) SetPasswordHash(_ context.Context, userID, hash string) error {
	return m.updateUser(userID, func(u *passkeyd.User) { u.PasswordHash = hash })
}

// SetDisplayName implements passkeyd.UserStore.
func (m *MemoryStore) SetDisplayName(_ context.Context, userID, name string) error {
	return m.updateUser(userID, func(u *passkeyd.User) { u.DisplayName = name })
}

// RecordLogin implements passkeyd.UserStore.
func (m *MemoryStore) RecordLogin(_ context.Context, userID string, at time.Time) error {
	return m.updateUser(userID, func(u *passkeyd.User) { u.LastLoginAt = stored(at) })
}

func (m *MemoryStore) updateUser(id string, change func(*passkeyd.User)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return passkeyd.ErrNotFound
	}
	change(u)
	return nil
}

// CreatePasskey implements passkeyd.PasskeyStore.
func (m *MemoryStore) CreatePasskey(_ context.Context, p *passkeyd.Passkey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.createPasskey(p)
}

// createPasskey stores p unless its credential id is taken; m.mu is held.
func (m *MemoryStore) createPasskey(p *passkeyd.Passkey) error {
	if m.credentialTaken(p.CredentialID) {
		return passkeyd.ErrCredentialExists
	}
	m.passkeys[p.ID] = copyPasskey(p)
	return nil
}

// credentialTaken reports whether a passkey has that credential id; m.mu
// is held.
func (m *MemoryStore) credentialTaken(credentialID []byte) bool {
	for _, p := range m.passkeys {
		if bytes.Equal(p.CredentialID, credentialID) {
			return true
		}
	}
	return false
}

// Passkey implements passkeyd.PasskeyStore.
func (m *MemoryStore) Passkey(_ context.Context, userID, id string) (*passkeyd.Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.passkeys[id]
	if !ok || p.UserID != userID {
		return nil, passkeyd.ErrNotFound
	}
	return copyPasskey(p), nil
}

// PasskeyByCredentialID implements passkeyd.PasskeyStore.
func (m *MemoryStore) PasskeyByCredentialID(_ context.Context, credentialID []byte) (*passkeyd.Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.passkeys {
		if bytes.Equal(p.CredentialID, credentialID) {
			return copyPasskey(p), nil
		}
	}
	return nil, passkeyd.ErrNotFound
}

// UserPasskeys implements passkeyd.PasskeyStore.
func (m *MemoryStore) UserPasskeys(_ context.Context, userID string) ([]*passkeyd.Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []*passkeyd.Passkey{}
	for _, p := range m.passkeys {
		if p.UserID == userID {
			out = append(out, copyPasskey(p))
		}
	}
	// Newest first, as the SQL stores order them.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// ListPasskeys implements passkeyd.PasskeyStore.
func (m *MemoryStore) ListPasskeys(ctx context.Context, userID string, offset, limit int) (passkeyd.PasskeyPage, error) {
	all, err := m.UserPasskeys(ctx, userID)
	if err != nil {
		return passkeyd.PasskeyPage{}, err
	}
	page := passkeyd.PasskeyPage{Total: len(all), Passkeys: []*passkeyd.Passkey{}}
	if offset < len(all) {
		page.Passkeys = all[offset:min(len(all), offset+limit)]
	}
	return page, nil
}

// UpdatePasskey implements passkeyd.PasskeyStore.
func (m *MemoryStore) UpdatePasskey(_ context.Context, userID, id string, u passkeyd.PasskeyUpdate) (*passkeyd.Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.passkeys[id]
	if !ok || p.UserID != userID {
		return nil, passkeyd.ErrNotFound
	}
	if u.KeepWayIn && u.Enabled != nil && !*u.Enabled && p.Enabled && !m.wayInLeft(userID, id, false) {
		return nil, passkeyd.ErrLastLoginMethod
	}
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Enabled != nil {
		p.Enabled = *u.Enabled
	}
	return copyPasskey(p), nil
}

// DeletePasskey implements passkeyd.PasskeyStore.
func (m *MemoryStore) DeletePasskey(_ context.Context, userID, id string, keepWayIn bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.passkeys[id]
	if !ok || p.UserID != userID {
		return passkeyd.ErrNotFound
	}
	if p.Enabled {
		return passkeyd.ErrPasskeyEnabled
	}
	if keepWayIn && !m.wayInLeft(userID, id, true) {
		return passkeyd.ErrLastLoginMethod
	}
	delete(m.passkeys, id)
	return nil
}

// CreateSession implements passkeyd.SessionStore.
func (m *MemoryStore) CreateSession(_ context.Context, s *passkeyd.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.createSession(s)
}

// createSession stores s; m.mu is held. A token hash already in use is an
// error, as the SQL backends' primary key makes it: a token is random,
// so a second session with one is a bug, not a login.
func (m *MemoryStore) createSession(s *passkeyd.Session) error {
	if _, ok := m.sessions[string(s.Key)]; ok {
		return errors.New("passkeytest: a session with that token hash exists")
	}
	m.sessions[string(s.Key)] = copySession(s)
	return nil
}

// SessionByKey implements passkeyd.SessionStore.
func (m *MemoryStore) SessionByKey(_ context.Context, key []byte) (*passkeyd.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[string(key)]
	if !ok {
		return nil, passkeyd.ErrNotFound
	}
	return copySession(s), nil
}

// TouchSession implements passkeyd.SessionStore. It changes a session
// that exists and never makes one, so a deleted session stays deleted.
func (m *MemoryStore) TouchSession(_ context.Context, key []byte, seen, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[string(key)]
	if !ok {
		return passkeyd.ErrNotFound
	}
	s.LastSeenAt, s.ExpiresAt = stored(seen), stored(expires)
	return nil
}

// DeleteSession implements passkeyd.SessionStore.
func (m *MemoryStore) DeleteSession(_ context.Context, key []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, string(key))
	return nil
}

// UserSessions implements passkeyd.SessionStore.
func (m *MemoryStore) UserSessions(_ context.Context, userID string) ([]*passkeyd.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []*passkeyd.Session{}
	for _, s := range m.sessions {
		if s.UserID == userID {
			out = append(out, copySession(s))
		}
	}
	// Newest first, as the SQL stores order them.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return bytes.Compare(out[i].Key, out[j].Key) > 0
	})
	return out, nil
}

// DeleteUserSessions implements passkeyd.SessionStore.
func (m *MemoryStore) DeleteUserSessions(_ context.Context, userID string, keep []byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, s := range m.sessions {
		if s.UserID == userID && (keep == nil || k != string(keep)) {
			delete(m.sessions, k)
			n++
		}
	}
	return n, nil
}

// DeleteExpiredSessions implements passkeyd.SessionStore.
func (m *MemoryStore) DeleteExpiredSessions(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, s := range m.sessions {
		if s.ExpiresAt.Before(t) {
			delete(m.sessions, k)
			n++
		}
	}
	return n, nil
}

// CommitLogin implements passkeyd.Store. Everything that can refuse the
// commit is checked before anything is written, and the mutex is held
// throughout, so the commit is all or nothing.
func (m *MemoryStore) CommitLogin(_ context.Context, c *passkeyd.LoginCommit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.Challenge != nil {
		if _, used := m.challenges[string(c.Challenge.Key)]; used {
			return passkeyd.ErrChallengeUsed
		}
	}
	var p *passkeyd.Passkey
	if c.PasskeyUse != nil {
		p = m.passkeys[c.PasskeyUse.ID]
		if p == nil || !p.Enabled {
			return passkeyd.ErrPasskeyDisabled
		}
	}
	if c.Session != nil {
		if _, ok := m.sessions[string(c.Session.Key)]; ok && !bytes.Equal(c.Session.Key, c.ReplacedSession) {
			return errors.New("passkeytest: commit login: a session with that token hash exists")
		}
	}

	if c.Challenge != nil {
		m.challenges[string(c.Challenge.Key)] = stored(c.Challenge.ExpiresAt)
	}
	if p != nil {
		u := c.PasskeyUse
		p.SignCount, p.UserVerified, p.BackupEligible, p.BackupState = u.SignCount, u.UserVerified, u.BackupEligible, u.BackupState
		p.CloneWarning, p.LastUsedAt, p.Enabled = u.CloneWarning, stored(u.LastUsedAt), u.Enabled
	}
	m.appendAudit(c.Audit)
	if c.UserID != "" {
		// A user kept elsewhere (the host's) is no error.
		if u, ok := m.users[c.UserID]; ok {
			u.LastLoginAt = stored(c.At)
		}
	}
	if c.ReplacedSession != nil {
		delete(m.sessions, string(c.ReplacedSession))
	}
	if c.Session != nil {
		m.sessions[string(c.Session.Key)] = copySession(c.Session)
	}
	return nil
}

// CommitRegistration implements passkeyd.Store: the challenge and the
// credential id are both checked before either is written.
func (m *MemoryStore) CommitRegistration(_ context.Context, c *passkeyd.RegistrationCommit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, used := m.challenges[string(c.Challenge.Key)]; used {
		return passkeyd.ErrChallengeUsed
	}
	if err := m.createPasskey(c.Passkey); err != nil {
		return err
	}
	m.challenges[string(c.Challenge.Key)] = stored(c.Challenge.ExpiresAt)
	m.appendAudit(c.Audit)
	return nil
}

// DeleteUsedChallenges implements passkeyd.Store.
func (m *MemoryStore) DeleteUsedChallenges(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, expires := range m.challenges {
		if expires.Before(t) {
			delete(m.challenges, k)
			n++
		}
	}
	return n, nil
}

// CeremonyKeys implements passkeyd.CeremonyKeyStore.
func (m *MemoryStore) CeremonyKeys(context.Context) ([]passkeyd.CeremonyKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []passkeyd.CeremonyKey
	for _, k := range m.keys {
		out = append(out, copyKey(k))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// AddCeremonyKey implements passkeyd.CeremonyKeyStore. A refused rotation
// retires nothing: the id is checked first.
func (m *MemoryStore) AddCeremonyKey(_ context.Context, k passkeyd.CeremonyKey, retire bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[k.ID]; ok {
		if retire {
			return passkeyd.ErrCeremonyKeyExists
		}
		return nil
	}
	if retire {
		at := stored(k.CreatedAt)
		for id, old := range m.keys {
			// A key retired already keeps its time: it opens for one
			// TTL after that, not after every later rotation.
			if old.RetiredAt.IsZero() {
				old.RetiredAt = at
				m.keys[id] = old
			}
		}
	}
	k = copyKey(k)
	k.RetiredAt = time.Time{}
	m.keys[k.ID] = k
	return nil
}

// DeleteCeremonyKeys implements passkeyd.CeremonyKeyStore.
func (m *MemoryStore) DeleteCeremonyKeys(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for id, k := range m.keys {
		if !k.RetiredAt.IsZero() && k.RetiredAt.Before(t) {
			delete(m.keys, id)
			n++
		}
	}
	return n, nil
}

// TakeAttempt implements passkeyd.AttemptStore.
func (m *MemoryStore) TakeAttempt(_ context.Context, key []byte, window time.Duration, now time.Time) (int, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.attempts[string(key)]
	if !w.resetsAt.After(now) {
		w = attemptWindow{resetsAt: stored(now.Add(window))}
	}
	w.count++
	m.attempts[string(key)] = w
	return w.count, w.resetsAt, nil
}

// ClearAttempts implements passkeyd.AttemptStore.
func (m *MemoryStore) ClearAttempts(_ context.Context, key []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.attempts, string(key))
	return nil
}

// DeleteExpiredAttempts implements passkeyd.AttemptStore.
func (m *MemoryStore) DeleteExpiredAttempts(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, w := range m.attempts {
		if w.resetsAt.Before(t) {
			delete(m.attempts, k)
			n++
		}
	}
	return n, nil
}

// appendAudit adds events to the log; m.mu is held.
func (m *MemoryStore) appendAudit(events []passkeyd.AuditEvent) {
	for _, e := range events {
		e.ID = int64(len(m.audit) + 1)
		if n := len(m.audit); n > 0 {
			e.ID = m.audit[n-1].ID + 1
		}
		e.At = stored(e.At)
		m.audit = append(m.audit, e)
	}
}

// AppendAudit implements passkeyd.AuditStore.
func (m *MemoryStore) AppendAudit(_ context.Context, events ...passkeyd.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.appendAudit(events)
	return nil
}

// AuditEvents implements passkeyd.AuditStore.
func (m *MemoryStore) AuditEvents(_ context.Context, userID string, limit int) ([]passkeyd.AuditEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []passkeyd.AuditEvent
	for i := len(m.audit) - 1; i >= 0 && len(out) < limit; i-- {
		if userID == "" || m.audit[i].UserID == userID {
			out = append(out, m.audit[i])
		}
	}
	return out, nil
}

// DeleteAuditEvents implements passkeyd.AuditStore.
func (m *MemoryStore) DeleteAuditEvents(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.audit[:0]
	for _, e := range m.audit {
		if !e.At.Before(t) {
			kept = append(kept, e)
		}
	}
	n := int64(len(m.audit) - len(kept))
	m.audit = kept
	return n, nil
}

// DeleteUser implements passkeyd.UserStore.
func (m *MemoryStore) DeleteUser(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[id]; !ok {
		return passkeyd.ErrNotFound
	}
	delete(m.users, id)
	for k, p := range m.passkeys {
		if p.UserID == id {
			delete(m.passkeys, k)
		}
	}
	for k, sess := range m.sessions {
		if sess.UserID == id {
			delete(m.sessions, k)
		}
	}
	delete(m.recoveryCodes, id)
	for k, l := range m.links {
		if l.userID == id {
			delete(m.links, k)
		}
	}
	return nil
}

// wayInLeft says whether the user keeps a way to log in without passkey
// id: another enabled passkey (anyPasskey: another passkey at all) or an
// unused recovery code; m.mu is held.
func (m *MemoryStore) wayInLeft(userID, id string, anyPasskey bool) bool {
	for _, p := range m.passkeys {
		if p.UserID == userID && p.ID != id && (p.Enabled || anyPasskey) {
			return true
		}
	}
	for _, used := range m.recoveryCodes[userID] {
		if !used {
			return true
		}
	}
	return false
}

// ReplaceRecoveryCodes implements passkeyd.RecoveryStore.
func (m *MemoryStore) ReplaceRecoveryCodes(_ context.Context, userID string, hashes [][]byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	codes := map[string]bool{}
	for _, h := range hashes {
		codes[string(h)] = false
	}
	m.recoveryCodes[userID] = codes
	return nil
}

// UseRecoveryCode implements passkeyd.RecoveryStore.
func (m *MemoryStore) UseRecoveryCode(_ context.Context, userID string, hash []byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	used, ok := m.recoveryCodes[userID][string(hash)]
	if !ok || used {
		return passkeyd.ErrNotFound
	}
	m.recoveryCodes[userID][string(hash)] = true
	return nil
}

// RecoveryCodesLeft implements passkeyd.RecoveryStore.
func (m *MemoryStore) RecoveryCodesLeft(_ context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, used := range m.recoveryCodes[userID] {
		if !used {
			n++
		}
	}
	return n, nil
}

// CreateLoginLink implements passkeyd.RecoveryStore.
func (m *MemoryStore) CreateLoginLink(_ context.Context, hash []byte, userID string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.links[string(hash)] = loginLink{userID: userID, expires: expires}
	return nil
}

// UseLoginLink implements passkeyd.RecoveryStore.
func (m *MemoryStore) UseLoginLink(_ context.Context, hash []byte, now time.Time) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[string(hash)]
	if !ok || !l.expires.After(now) {
		return "", passkeyd.ErrNotFound
	}
	delete(m.links, string(hash))
	return l.userID, nil
}

// DeleteExpiredLoginLinks implements passkeyd.RecoveryStore.
func (m *MemoryStore) DeleteExpiredLoginLinks(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, l := range m.links {
		if l.expires.Before(t) {
			delete(m.links, k)
			n++
		}
	}
	return n, nil
}
