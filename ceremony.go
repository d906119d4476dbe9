package passkeyd

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"golang.org/x/crypto/chacha20poly1305"
)

// A pending ceremony — what a begin handed out, needed by its finish — is
// kept by the client, sealed: encrypted and authenticated with a server
// key (XChaCha20-Poly1305), so the client can neither read nor change it,
// and any instance that knows the key can open it. A begin therefore
// writes nothing; only a finish that verifies writes, and it records the
// challenge as used in its own transaction, which makes a ceremony
// finishable once across all instances.
//
// A browser keeps the sealed state in a cookie named after the challenge,
// so several ceremonies can be pending at once (two tabs) without any of
// them overwriting another. A client without cookies (a mobile app) reads
// it from the begin's Passkeyd-Ceremony header and sends it back in the
// finish's. docs/ceremony-state.md has the format and its threat model.

// CeremonyHeader is the header that carries a pending ceremony's sealed
// state: set on every begin's answer, and read from a finish before the
// cookie is.
const CeremonyHeader = "Passkeyd-Ceremony"

// ceremonyCookiePrefix starts the name of every ceremony cookie; the rest
// is derived from the challenge.
const ceremonyCookiePrefix = "passkeyd_ceremony_"

// maxPendingCeremonies is how many ceremony cookies one browser keeps; a
// begin beyond it drops the one nearest its expiry, so a page reloaded
// again and again cannot grow the Cookie header past what proxies accept.
const maxPendingCeremonies = 8

// Ceremony kinds, inside the sealed state.
const (
	kindRegistration byte = 'r'
	kindLogin        byte = 'l'
	// kindSignUp registers the first passkey of a user not yet stored.
	kindSignUp byte = 's'
)

// ceremonyState is the state of a pending ceremony.
type ceremonyState struct {
	kind byte
	// userID is the user registering, or the logged-in user
	// re-authenticating; "" for a discoverable login.
	userID    string
	expiresAt time.Time
	// data is the WebAuthn library's session data, without the allowed
	// credential list: a re-authentication's finish checks the passkey's
	// owner itself, and the list could outgrow a cookie.
	data webauthn.SessionData
	// newUser is the user a sign-up makes (kindSignUp only): stored at
	// its finish, so that a begin never finished holds no username.
	newUser *User
}

// Sealed format: version | key id (4 bytes) | nonce (24) | ciphertext and
// tag. The version and key id are authenticated as associated data.
const (
	sealVersion   byte = 1
	sealHeaderLen      = 1 + 4 + chacha20poly1305.NonceSizeX
)

// Why a sealed state would not open; all are "unknown challenge" to the
// client, and the cause goes to the debug log.
var (
	errSealMalformed  = errors.New("sealed ceremony state is malformed")
	errSealUnknownKey = errors.New("sealed ceremony state names a key this site does not have (or no longer accepts)")
	errSealTampered   = errors.New("sealed ceremony state does not authenticate")
)

// encode returns the state's plaintext: kind | expiry (Unix ms) | user id
// length and bytes | for a sign-up, the username and display name, each
// length and bytes | the session data, in the library's own MessagePack.
func (st *ceremonyState) encode() ([]byte, error) {
	data := st.data
	data.AllowedCredentialIDs = nil
	b := make([]byte, 0, 256)
	b = append(b, st.kind)
	b = binary.BigEndian.AppendUint64(b, uint64(st.expiresAt.UnixMilli()))
	b = appendString(b, st.userID)
	if st.kind == kindSignUp {
		b = appendString(b, st.newUser.Username)
		b = appendString(b, st.newUser.DisplayName)
	}
	return data.MarshalMsg(b)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// readString reads what appendString wrote, and returns the rest.
func readString(b []byte) (string, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return "", nil, errSealMalformed
	}
	return string(b[w : w+int(n)]), b[w+int(n):], nil
}

func decodeCeremonyState(b []byte) (*ceremonyState, error) {
	if len(b) < 1+8 {
		return nil, errSealMalformed
	}
	st := &ceremonyState{kind: b[0], expiresAt: time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:9])))}
	var err error
	if st.userID, b, err = readString(b[9:]); err != nil {
		return nil, err
	}
	if st.kind == kindSignUp {
		u := &User{ID: st.userID}
		if u.Username, b, err = readString(b); err != nil {
			return nil, err
		}
		if u.DisplayName, b, err = readString(b); err != nil {
			return nil, err
		}
		st.newUser = u
	}
	rest, err := st.data.UnmarshalMsg(b)
	if err != nil || len(rest) != 0 {
		return nil, errSealMalformed
	}
	return st, nil
}

// sealKey is one key of the keyring.
type sealKey struct {
	id   uint32
	aead cipher.AEAD
	// until is when the key stops opening; zero: while it is known.
	until time.Time
	// fakeIDKey makes the fake credential ids of a username-first login
	// for a name without passkeys (fakeDescriptors).
	fakeIDKey []byte
}

// keyring is the keys an instance knows: the one that seals, and all
// that open.
type keyring struct {
	sealing  *sealKey
	byID     map[uint32]*sealKey
	loadedAt time.Time
}

// keyRefresh is how often an instance reads the stored keys again, to
// learn of a rotation; a retired key opens for one ceremony TTL plus this.
const keyRefresh = 15 * time.Second

// sealer seals and opens ceremony states with the keys of a
// CeremonyKeyStore, or with fixed keys.
type sealer struct {
	store CeremonyKeyStore // nil with fixed keys
	ttl   time.Duration
	now   func() time.Time

	ring atomic.Pointer[keyring]
	// mu lets one request at a time read the keys; lastMiss is when an
	// unknown key id last made one do so.
	mu       sync.Mutex
	lastMiss time.Time
}

// newFixedSealer returns a sealer with the given secrets: the first seals,
// all open. A key's id is derived from its secret, so the order may change
// between restarts.
func newFixedSealer(secrets [][]byte, now func() time.Time) (*sealer, error) {
	ring := &keyring{byID: map[uint32]*sealKey{}}
	for i, secret := range secrets {
		sum := sha256.Sum256(secret)
		k, err := newSealKey(binary.BigEndian.Uint32(sum[:4]), secret, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("passkeyd: ceremony key %d: %w", i+1, err)
		}
		if _, dup := ring.byID[k.id]; dup {
			return nil, fmt.Errorf("passkeyd: ceremony key %d is given twice", i+1)
		}
		ring.byID[k.id] = k
		if ring.sealing == nil {
			ring.sealing = k
		}
	}
	if ring.sealing == nil {
		return nil, errors.New("passkeyd: no ceremony key")
	}
	s := &sealer{now: now}
	s.ring.Store(ring)
	return s, nil
}

func newSealKey(id uint32, secret []byte, until time.Time) (*sealKey, error) {
	if len(secret) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("a ceremony key is %d bytes, not %d", chacha20poly1305.KeySize, len(secret))
	}
	aead, err := chacha20poly1305.NewX(secret)
	if err != nil {
		return nil, err
	}
	// A second key from the same secret, for a second purpose: the fake
	// credential ids of a username-first login for a name that has none.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("passkeyd fake credential ids"))
	return &sealKey{id: id, aead: aead, until: until, fakeIDKey: mac.Sum(nil)}, nil
}

// keys returns the keyring, reading the stored keys when it has none yet
// or is due a refresh. A refresh that fails keeps the keys known: sealing
// and opening need no database.
func (s *sealer) keys(ctx context.Context) (*keyring, error) {
	ring := s.ring.Load()
	if s.store == nil || ring != nil && s.now().Sub(ring.loadedAt) < keyRefresh {
		return ring, nil
	}
	if ring != nil {
		// Someone else is refreshing: use what is known meanwhile.
		if !s.mu.TryLock() {
			return ring, nil
		}
	} else {
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if cur := s.ring.Load(); cur != ring {
		return cur, nil
	}
	fresh, err := s.load(ctx)
	if err != nil {
		if ring == nil {
			return nil, err
		}
		// Try again after another keyRefresh, not at every request.
		s.ring.Store(&keyring{sealing: ring.sealing, byID: ring.byID, loadedAt: s.now()})
		return ring, nil
	}
	return fresh, nil
}

// load reads the stored keys, making the first when there is none. The
// caller holds mu.
func (s *sealer) load(ctx context.Context) (*keyring, error) {
	stored, err := s.store.CeremonyKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("read ceremony keys: %w", err)
	}
	if len(stored) == 0 {
		first, err := newCeremonyKey(1, s.now())
		if err != nil {
			return nil, err
		}
		if err := s.store.AddCeremonyKey(ctx, first, false); err != nil {
			return nil, fmt.Errorf("make the first ceremony key: %w", err)
		}
		if stored, err = s.store.CeremonyKeys(ctx); err != nil {
			return nil, fmt.Errorf("read ceremony keys: %w", err)
		}
	}
	ring := &keyring{byID: map[uint32]*sealKey{}, loadedAt: s.now()}
	for _, k := range stored {
		var until time.Time
		if !k.RetiredAt.IsZero() {
			until = k.RetiredAt.Add(s.ttl + keyRefresh)
		}
		sk, err := newSealKey(k.ID, k.Secret, until)
		if err != nil {
			return nil, fmt.Errorf("ceremony key %d: %w", k.ID, err)
		}
		ring.byID[k.ID] = sk
		if k.RetiredAt.IsZero() && (ring.sealing == nil || k.ID > ring.sealing.id) {
			ring.sealing = sk
		}
	}
	if ring.sealing == nil {
		return nil, errors.New("every stored ceremony key is retired; run passkeyd keys rotate")
	}
	s.ring.Store(ring)
	return ring, nil
}

// newCeremonyKey makes a ceremony key with a fresh random secret.
func newCeremonyKey(id uint32, now time.Time) (CeremonyKey, error) {
	secret := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(secret); err != nil {
		return CeremonyKey{}, fmt.Errorf("make ceremony key: %w", err)
	}
	return CeremonyKey{ID: id, Secret: secret, CreatedAt: now.UTC()}, nil
}

// RotateCeremonyKey makes a new ceremony key and retires the others.
// Every instance seals with it once it reads the keys again (within 15
// seconds), and a retired key still opens for one ceremony TTL, so no
// pending ceremony is cut short. It returns the new key's id.
func RotateCeremonyKey(ctx context.Context, store CeremonyKeyStore, now time.Time) (uint32, error) {
	keys, err := store.CeremonyKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("read ceremony keys: %w", err)
	}
	id := uint32(1)
	for _, k := range keys {
		id = max(id, k.ID+1)
	}
	k, err := newCeremonyKey(id, now)
	if err != nil {
		return 0, err
	}
	if err := store.AddCeremonyKey(ctx, k, true); err != nil {
		return 0, fmt.Errorf("store ceremony key: %w", err)
	}
	return id, nil
}

// seal returns st sealed, as URL-safe base64.
func (s *sealer) seal(ctx context.Context, st *ceremonyState) (string, error) {
	ring, err := s.keys(ctx)
	if err != nil {
		return "", err
	}
	plain, err := st.encode()
	if err != nil {
		return "", fmt.Errorf("encode ceremony state: %w", err)
	}
	k := ring.sealing
	out := make([]byte, sealHeaderLen, sealHeaderLen+len(plain)+k.aead.Overhead())
	out[0] = sealVersion
	binary.BigEndian.PutUint32(out[1:5], k.id)
	nonce := out[5:sealHeaderLen]
	_, _ = rand.Read(nonce)
	out = k.aead.Seal(out, nonce, plain, out[:5])
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// open returns the state sealed in sealed, or why it cannot.
func (s *sealer) open(ctx context.Context, sealed string) (*ceremonyState, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < sealHeaderLen+chacha20poly1305.Overhead || b[0] != sealVersion {
		return nil, errSealMalformed
	}
	id := binary.BigEndian.Uint32(b[1:5])
	k, err := s.key(ctx, id)
	if err != nil {
		return nil, err
	}
	plain, err := k.aead.Open(nil, b[5:sealHeaderLen], b[sealHeaderLen:], b[:5])
	if err != nil {
		return nil, errSealTampered
	}
	return decodeCeremonyState(plain)
}

// key returns the key with that id while it still opens. An id it does
// not know makes it read the stored keys again (at most once a second),
// in case another instance has just rotated.
func (s *sealer) key(ctx context.Context, id uint32) (*sealKey, error) {
	ring, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	k, ok := ring.byID[id]
	if !ok && s.store != nil {
		s.mu.Lock()
		if now := s.now(); now.Sub(s.lastMiss) >= time.Second {
			s.lastMiss = now
			if fresh, err := s.load(ctx); err == nil {
				k, ok = fresh.byID[id]
			}
		}
		s.mu.Unlock()
	}
	if !ok || !k.until.IsZero() && !s.now().Before(k.until) {
		return nil, errSealUnknownKey
	}
	return k, nil
}

// ceremonyCookie names the cookie that holds the ceremony of a challenge
// (the base64url string the client signs).
func ceremonyCookie(challenge string) string {
	sum := sha256.Sum256([]byte(challenge))
	return ceremonyCookiePrefix + base64.RawURLEncoding.EncodeToString(sum[:9])
}

// handOut seals a begun ceremony and gives it to the client: in the
// Passkeyd-Ceremony header, and in a cookie named after its challenge.
func (s *Service) handOut(ctx context.Context, w http.ResponseWriter, r *http.Request, st *ceremonyState) error {
	sealed, err := s.sealer.seal(ctx, st)
	if err != nil {
		return err
	}
	s.dropOldCeremonies(ctx, w, r)
	w.Header().Set(CeremonyHeader, sealed)
	http.SetCookie(w, &http.Cookie{
		Name:     ceremonyCookie(st.data.Challenge),
		Value:    sealed,
		Path:     "/",
		MaxAge:   int(s.cfg.CeremonyTTL / time.Second),
		HttpOnly: true,
		Secure:   s.secure,
		// Ceremonies are begun and finished by this site's own pages.
		SameSite: http.SameSiteStrictMode,
	})
	return nil
}

// dropOldCeremonies expires the ceremony cookies beyond the newest
// maxPendingCeremonies-1, and any that no longer open, so that the one
// being handed out fits.
func (s *Service) dropOldCeremonies(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	type pending struct {
		name    string
		expires time.Time
	}
	var live []pending
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, ceremonyCookiePrefix) {
			continue
		}
		st, err := s.sealer.open(ctx, c.Value)
		if err != nil || !s.now().Before(st.expiresAt) {
			s.expireCeremonyCookie(w, c.Name)
			continue
		}
		live = append(live, pending{c.Name, st.expiresAt})
	}
	if len(live) < maxPendingCeremonies {
		return
	}
	slices.SortFunc(live, func(a, b pending) int { return a.expires.Compare(b.expires) })
	for _, p := range live[:len(live)-maxPendingCeremonies+1] {
		s.expireCeremonyCookie(w, p.name)
	}
}

func (s *Service) expireCeremonyCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
	})
}

// pendingCeremony opens the state of the ceremony that a finish answers:
// from the Passkeyd-Ceremony header, or else the cookie of its challenge.
// It must be of kind, unexpired, and for challenge. unknown and expired are
// what the client is told when it is not.
func (s *Service) pendingCeremony(ctx context.Context, r *http.Request, challenge string, kind byte, unknown, expired *Error) (*ceremonyState, error) {
	sealed := r.Header.Get(CeremonyHeader)
	if sealed == "" {
		c, err := r.Cookie(ceremonyCookie(challenge))
		if err != nil {
			return nil, unknown.Wrap(errors.New("no sealed ceremony state for this challenge"))
		}
		sealed = c.Value
	}
	st, err := s.sealer.open(ctx, sealed)
	if errors.Is(err, errSealMalformed) || errors.Is(err, errSealTampered) || errors.Is(err, errSealUnknownKey) {
		return nil, unknown.Wrap(err)
	}
	if err != nil {
		return nil, err
	}
	if st.kind != kind || st.data.Challenge != challenge {
		return nil, unknown.Wrap(errors.New("sealed ceremony state is of another ceremony"))
	}
	expiry, ok := challengeExpiry(challenge)
	if !ok || expiry.UnixMilli() != st.expiresAt.UnixMilli() {
		return nil, unknown.Wrap(errors.New("the challenge is not one this site made"))
	}
	now := s.now()
	if !now.Before(expiry) {
		return nil, expired
	}
	if st.expiresAt.After(now.Add(s.cfg.CeremonyTTL + time.Minute)) {
		// Nothing this site seals lives that long.
		return nil, unknown.Wrap(errors.New("sealed ceremony state expires too late"))
	}
	return st, nil
}

// A challenge is the ceremony's expiry (8 bytes, big-endian Unix
// milliseconds) and 24 random bytes (192 bits). The authenticator signs
// it, so the expiry cannot be changed, not even by someone who could forge
// a sealed state: a response captured once is refused when its challenge
// has expired, whatever was recorded or swept. Challenges also sort by
// expiry, so the record of used ones grows at one end of its index, and
// what has expired is a range at the other.
const challengeLength = 8 + 24

// newChallenge returns a challenge that expires at t.
func newChallenge(t time.Time) []byte {
	c := make([]byte, challengeLength)
	binary.BigEndian.PutUint64(c, uint64(t.UnixMilli()))
	_, _ = rand.Read(c[8:])
	return c
}

// challengeExpiry returns the expiry a challenge (as the client signed it,
// base64url) carries, and false for one this site did not make.
func challengeExpiry(challenge string) (time.Time, bool) {
	c, err := base64.RawURLEncoding.DecodeString(challenge)
	if err != nil || len(c) != challengeLength {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(c))), true
}

// withChallenge makes a registration use the given challenge, as
// webauthn.WithChallenge does for a login.
func withChallenge(c []byte) webauthn.RegistrationOption {
	return func(o *protocol.PublicKeyCredentialCreationOptions) error {
		o.Challenge = c
		return nil
	}
}

// usedChallengeGrace is how long the record of a used challenge outlives
// its ceremony: the clock difference between instances it allows for.
const usedChallengeGrace = time.Minute

// usedChallenge is the record a finish commits: the challenge itself,
// kept until its ceremony would have expired anyway (and the grace).
func usedChallenge(st *ceremonyState) *UsedChallenge {
	c, _ := base64.RawURLEncoding.DecodeString(st.data.Challenge)
	return &UsedChallenge{Key: c, ExpiresAt: st.expiresAt}
}
