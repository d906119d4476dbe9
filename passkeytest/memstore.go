package passkeytest

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"time"

	"github.com/passkeyd/passkeyd"
)

// MemoryStore keeps users, passkeys and ceremonies in memory: a
// passkeyd.UserStore, PasskeyStore and CeremonyStore for tests and
// examples. It passes the same conformance suite (storetest) as the real
// backends. The zero value is not ready: use NewMemoryStore.
type MemoryStore struct {
	mu         sync.Mutex
	users      map[string]*passkeyd.User
	passkeys   map[string]*passkeyd.Passkey
	ceremonies map[string]*passkeyd.Ceremony
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		users:      map[string]*passkeyd.User{},
		passkeys:   map[string]*passkeyd.Passkey{},
		ceremonies: map[string]*passkeyd.Ceremony{},
	}
}

// Copies go in and out, so callers never share memory with the store.
func copyUser(u *passkeyd.User) *passkeyd.User {
	c := *u
	c.Handle = bytes.Clone(u.Handle)
	return &c
}

func copyPasskey(p *passkeyd.Passkey) *passkeyd.Passkey {
	c := *p
	c.CredentialID = bytes.Clone(p.CredentialID)
	c.PublicKey = bytes.Clone(p.PublicKey)
	c.AAGUID = bytes.Clone(p.AAGUID)
	c.Transports = append([]string{}, p.Transports...)
	return &c
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

// SetPasswordHash implements passkeyd.UserStore.
func (m *MemoryStore) SetPasswordHash(_ context.Context, userID, hash string) error {
	return m.updateUser(userID, func(u *passkeyd.User) { u.PasswordHash = hash })
}

// RecordLogin implements passkeyd.UserStore.
func (m *MemoryStore) RecordLogin(_ context.Context, userID string, at time.Time) error {
	return m.updateUser(userID, func(u *passkeyd.User) { u.LastLoginAt = at.UTC() })
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
	for _, other := range m.passkeys {
		if bytes.Equal(other.CredentialID, p.CredentialID) {
			return passkeyd.ErrCredentialExists
		}
	}
	m.passkeys[p.ID] = copyPasskey(p)
	return nil
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
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Enabled != nil {
		p.Enabled = *u.Enabled
	}
	return copyPasskey(p), nil
}

// RecordPasskeyUse implements passkeyd.PasskeyStore.
func (m *MemoryStore) RecordPasskeyUse(_ context.Context, used *passkeyd.Passkey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.passkeys[used.ID]
	if !ok {
		return passkeyd.ErrNotFound
	}
	p.SignCount, p.UserVerified, p.BackupEligible, p.BackupState = used.SignCount, used.UserVerified, used.BackupEligible, used.BackupState
	p.CloneWarning, p.LastUsedAt = used.CloneWarning, used.LastUsedAt
	return nil
}

// DeletePasskey implements passkeyd.PasskeyStore.
func (m *MemoryStore) DeletePasskey(_ context.Context, userID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.passkeys[id]
	if !ok || p.UserID != userID {
		return passkeyd.ErrNotFound
	}
	if p.Enabled {
		return passkeyd.ErrPasskeyEnabled
	}
	delete(m.passkeys, id)
	return nil
}

// SaveCeremony implements passkeyd.CeremonyStore.
func (m *MemoryStore) SaveCeremony(_ context.Context, c *passkeyd.Ceremony) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	saved := *c
	saved.Key, saved.Data = bytes.Clone(c.Key), bytes.Clone(c.Data)
	m.ceremonies[string(c.Key)] = &saved
	return nil
}

// TakeCeremony implements passkeyd.CeremonyStore.
func (m *MemoryStore) TakeCeremony(_ context.Context, key []byte) (*passkeyd.Ceremony, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.ceremonies[string(key)]
	if !ok {
		return nil, passkeyd.ErrNotFound
	}
	delete(m.ceremonies, string(key))
	return c, nil
}

// DeleteExpiredCeremonies implements passkeyd.CeremonyStore.
func (m *MemoryStore) DeleteExpiredCeremonies(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, c := range m.ceremonies {
		if c.ExpiresAt.Before(t) {
			delete(m.ceremonies, k)
			n++
		}
	}
	return n, nil
}
