package passkeyd

import (
	"context"
	"errors"
	"time"
)

// Errors of passkey storage.
var (
	// ErrCredentialExists means a credential with that id is registered
	// already, to this user or to anyone else.
	ErrCredentialExists = errors.New("credential already registered")
	// ErrPasskeyEnabled means a passkey must be disabled before it can be
	// deleted.
	ErrPasskeyEnabled = errors.New("passkey is enabled")
	// ErrLastLoginMethod means a change would leave a user who has no
	// password with no way to log in: no enabled passkey (no passkey at
	// all, for a delete) and no recovery code left.
	ErrLastLoginMethod = errors.New("the user's last way to log in")
)

// Passkey is a registered WebAuthn credential and what the site knows
// about it.
type Passkey struct {
	// ID is the passkey's own id (a UUID), used in URLs; never the
	// credential id, which the authenticator chose.
	ID     string
	UserID string
	// CredentialID is the authenticator's id for the credential; unique
	// across all users.
	CredentialID []byte
	// PublicKey is the COSE public key, of any size.
	PublicKey          []byte
	PublicKeyAlgorithm int64
	AttestationType    string
	AttestationFormat  string
	// AAGUID identifies the authenticator model (16 bytes; zeros when the
	// authenticator does not say).
	AAGUID     []byte
	SignCount  uint32
	Transports []string
	// Attachment is "platform", "cross-platform" or "" as the browser
	// reported it at registration.
	Attachment     string
	UserVerified   bool
	BackupEligible bool
	BackupState    bool
	// CloneWarning is set when a login's signature counter did not
	// increase: a sign that the authenticator may have been cloned.
	CloneWarning bool
	Name         string
	// Platform is the guess from the User-Agent at registration (Apple,
	// Amazon, Microsoft, Google or Unknown).
	Platform string
	// Provider is the passkey provider's name from the AAGUID, or "".
	Provider   string
	Enabled    bool
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// PasskeyPage is one page of a user's passkeys, newest first.
type PasskeyPage struct {
	Passkeys []*Passkey
	// Total is how many passkeys the user has in all.
	Total int
}

// PasskeyUpdate changes a passkey's name, its enabled state, or both; a
// nil field is left as it is.
type PasskeyUpdate struct {
	Name    *string
	Enabled *bool
	// KeepWayIn refuses, with ErrLastLoginMethod, to disable the user's
	// last enabled passkey when they have no recovery code left — checked
	// in the same transaction as the change, so that two disables at once
	// cannot both pass. The Service sets it for a user without a password.
	KeepWayIn bool
}

// PasskeyStore keeps passkeys. Every method that takes a user id acts only
// on that user's passkeys: another user's passkey is ErrNotFound.
type PasskeyStore interface {
	// CreatePasskey stores a new passkey, or returns ErrCredentialExists.
	// (A registration stores its passkey with Store.CommitRegistration;
	// this is for tools and imports.)
	CreatePasskey(ctx context.Context, p *Passkey) error
	// Passkey returns one of the user's passkeys.
	Passkey(ctx context.Context, userID, id string) (*Passkey, error)
	// PasskeyByCredentialID finds a passkey of any user by credential id.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// ListPasskeys returns a page of the user's passkeys, newest first.
	ListPasskeys(ctx context.Context, userID string, offset, limit int) (PasskeyPage, error)
	// UserPasskeys returns all of the user's passkeys, enabled or not.
	UserPasskeys(ctx context.Context, userID string) ([]*Passkey, error)
	// UpdatePasskey applies u and returns the passkey as it is now.
	UpdatePasskey(ctx context.Context, userID, id string, u PasskeyUpdate) (*Passkey, error)
	// DeletePasskey deletes a disabled passkey; an enabled one is
	// ErrPasskeyEnabled and stays. With keepWayIn it refuses, with
	// ErrLastLoginMethod, to delete the user's last passkey when they have
	// no recovery code left.
	DeletePasskey(ctx context.Context, userID, id string, keepWayIn bool) error
}
