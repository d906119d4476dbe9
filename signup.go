package passkeyd

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/passkeyd/passkeyd/password"
)

// Sign-up policies, for Config.SignUp: who may make an account, and how.
const (
	SignUpClosed   = "closed"   // only administrators make accounts (the default)
	SignUpPasskey  = "passkey"  // with a passkey only
	SignUpPassword = "password" // with a password only
	SignUpAny      = "any"      // with either
)

// Errors of sign-up.
var (
	errSignUpClosed    = NewError("signup_closed", "This site does not take new accounts this way.")
	errUsernameTaken   = NewError("username_taken", "That username is taken. Choose another.")
	errInvalidUsername = NewError("invalid_username", "").withTexts(text{
		template: msg("A username is 1 to {{.MaxUsername}} characters of text, and a display name at most {{.MaxDisplayName}}."),
		data:     map[string]any{"MaxUsername": MaxUsernameLength, "MaxDisplayName": MaxDisplayNameLength},
	})
	errWeakPassword = NewError("weak_password", "A password is 8 characters or more (at most 1024 bytes) of text without NUL characters.")
)

// PasswordHasher is what Deps.Passwords may also do so that users can
// sign up with, and change, a password: hash a new one, refusing one
// against the policy with an error fit to show (HashedPasswords does).
type PasswordHasher interface {
	HashPassword(ctx context.Context, password string) (string, error)
}

// HashPassword checks a new password against the policy
// (password.ValidatePolicy) and hashes it.
func (h *hashedPasswords) HashPassword(ctx context.Context, pw string) (string, error) {
	if err := password.ValidatePolicy(pw); err != nil {
		return "", errWeakPassword.Wrap(err)
	}
	return h.hasher.Hash(ctx, pw)
}

// checkSignUp checks the sign-up policy against what the Service was
// given: sign-up stores users, and a password sign-up hashes passwords.
func checkSignUp(policy string, deps Deps) error {
	switch policy {
	case SignUpClosed:
		return nil
	case SignUpPasskey, SignUpPassword, SignUpAny:
	default:
		return fmt.Errorf("passkeyd: Config.SignUp %q: want closed, passkey, password or any", policy)
	}
	if _, ok := deps.Users.(UserStore); !ok {
		return errors.New("passkeyd: Config.SignUp is open but Deps.Users cannot create users (it is no passkeyd.UserStore): the app signs its users up itself")
	}
	if _, ok := deps.Passwords.(PasswordHasher); policy != SignUpPasskey && !ok {
		return errors.New("passkeyd: Config.SignUp allows passwords but Deps.Passwords cannot hash new ones (passkeyd.PasswordHasher, as HashedPasswords does)")
	}
	return nil
}

// SignUpAllows says whether new users may sign up with a passkey
// ("passkey") or a password ("password").
func (s *Service) SignUpAllows(method string) bool {
	return s.cfg.SignUp == SignUpAny || s.cfg.SignUp == method
}

// newSignUpUser makes the user a sign-up would store, refusing a
// username already taken. It stores nothing.
func (s *Service) newSignUpUser(ctx context.Context, method, username, displayName string) (*User, error) {
	if !s.SignUpAllows(method) {
		return nil, errSignUpClosed
	}
	u, err := NewUser(username, displayName, s.now())
	if err != nil {
		return nil, errInvalidUsername.Wrap(err)
	}
	switch _, err := s.users.UserByUsername(ctx, u.Username); {
	case err == nil:
		return nil, errUsernameTaken
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	return u, nil
}

// BeginSignUp starts a passkey sign-up: the options to create the new
// user's first passkey. Nothing is stored, so a sign-up never finished
// holds no username.
func (s *Service) BeginSignUp(w http.ResponseWriter, r *http.Request, username, displayName string) (*protocol.CredentialCreation, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	u, err := s.newSignUpUser(r.Context(), SignUpPasskey, username, displayName)
	if err != nil {
		return nil, err
	}
	return s.beginRegistration(w, r, u, kindSignUp, false)
}

// FinishSignUp verifies the new user's first passkey, stores the user
// and the passkey, and logs the user in. A username taken in the
// meantime is username_taken, and nothing is kept.
func (s *Service) FinishSignUp(w http.ResponseWriter, r *http.Request, response []byte) (*LoginResult, error) {
	if !s.SignUpAllows(SignUpPasskey) {
		return nil, errSignUpClosed
	}
	r = s.withRequestInfo(r)
	ctx := r.Context()
	var user *User
	reg, err := s.verifyRegistration(r, response, kindSignUp, func(st *ceremonyState) (*User, error) {
		user = st.newUser
		user.Handle, user.CreatedAt = st.data.UserID, s.now().UTC()
		return user, nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.createUser(ctx, user); err != nil {
		return nil, err
	}
	if err := s.commitRegistration(w, r, reg); err != nil {
		// The user has no way in: take them back.
		if derr := s.userStore().DeleteUser(context.WithoutCancel(ctx), user.ID); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove the user of a failed sign-up: %w", derr))
		}
		return nil, err
	}
	p := reg.Passkey
	name, id, platform, cross := p.Name, p.ID, p.Platform, false
	how := Auth{UsePasskey: true, Name: &name, ID: &id, Platform: &platform, CrossPlatform: &cross}
	e := s.auditEvent(ctx, user.ID, AuditLogin, AuditOK)
	e.Method, e.PasskeyID = "passkey", p.ID
	return s.completeLogin(w, r, user, how, p, &LoginCommit{Audit: []AuditEvent{e}}, nil)
}

// SignUpWithPassword makes a user with a password and logs them in.
func (s *Service) SignUpWithPassword(w http.ResponseWriter, r *http.Request, username, displayName, pw string) (*LoginResult, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	r = s.withRequestInfo(r)
	ctx := r.Context()
	u, err := s.newSignUpUser(ctx, SignUpPassword, username, displayName)
	if err != nil {
		return nil, err
	}
	if u.PasswordHash, err = s.passwords.(PasswordHasher).HashPassword(ctx, pw); err != nil {
		return nil, err
	}
	if err := s.createUser(ctx, u); err != nil {
		return nil, err
	}
	return s.logInBy(w, r, u, "password")
}

// createUser stores a signed-up user, with its audit event.
func (s *Service) createUser(ctx context.Context, u *User) error {
	err := s.userStore().CreateUser(ctx, u)
	if errors.Is(err, ErrUsernameTaken) {
		return errUsernameTaken
	}
	if err != nil {
		return err
	}
	s.audit(ctx, s.auditEvent(ctx, u.ID, AuditSignedUp, AuditOK))
	return nil
}

// userStore is Deps.Users as a UserStore; checkSignUp made sure it is
// one wherever it is asked for.
func (s *Service) userStore() UserStore { return s.users.(UserStore) }

// signUpRequest is the body of both sign-ups.
type signUpRequest struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
}

func (s *Service) handleSignUpBegin(w http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	var req struct {
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	creation, err := s.BeginSignUp(w, r, req.Username, req.DisplayName)
	return http.StatusOK, creation, err
}

func (s *Service) handleSignUpFinish(w http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	body, err := readBody(r)
	if err != nil {
		return 0, nil, err
	}
	res, err := s.FinishSignUp(w, r, body)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, struct {
		User    UserInfo    `json:"user"`
		Passkey PasskeyInfo `json:"passkey"`
	}{res.User.Info(), res.Passkey.Info()}, nil
}

func (s *Service) handleSignUpPassword(w http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	var req signUpRequest
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.SignUpWithPassword(w, r, req.Username, req.DisplayName, req.Password)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, loginBody{res.User.Info(), res.Auth}, nil
}
