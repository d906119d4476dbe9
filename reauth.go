package passkeyd

import (
	"errors"
	"net/http"
	"time"
)

// DefaultReauthWindow is Config.ReauthWindow when it is not set.
const DefaultReauthWindow = 10 * time.Minute

// CodeReauthRequired is the error code of a change that needs a recent
// login first.
const CodeReauthRequired = "reauth_required"

// errReauthRequired asks the user to confirm who they are before a
// sensitive change: their login is older than the re-authentication
// window.
var errReauthRequired = NewError(CodeReauthRequired, "Confirm it is you first: log in again with your passkey or password.")

// AuthTimes is what AppSessions may also implement so that step-up works
// with the app's sessions: when the request's user last logged in or
// re-authenticated. Without it, the app decides itself when to ask again,
// and RequireRecentAuth lets every change through.
type AuthTimes interface {
	AuthenticatedAt(r *http.Request) (time.Time, error)
}

// RequireRecentAuth returns nil when the request's user logged in or
// re-authenticated within Config.ReauthWindow, else a 401 error
// "reauth_required". Adding, disabling and deleting passkeys, ending
// other sessions, changing the password and making recovery codes ask
// for it; a host app's own sensitive pages may too.
//
// A re-authentication is a login of the same user that renews the
// session (a new token, as at every login), so the session's CreatedAt
// is when the user last proved who they are.
func (s *Service) RequireRecentAuth(r *http.Request) error {
	if s.cfg.ReauthWindow < 0 {
		return nil
	}
	var at time.Time
	if s.app != nil {
		times, ok := s.app.(AuthTimes)
		if !ok {
			return nil
		}
		var err error
		if at, err = times.AuthenticatedAt(r); err != nil {
			return err
		}
	} else {
		sess, err := s.sessions.current(r)
		if err != nil {
			return err
		}
		if sess == nil {
			return ErrNotLoggedIn
		}
		at = sess.CreatedAt
	}
	if s.now().Sub(at) > s.cfg.ReauthWindow {
		return errReauthRequired
	}
	return nil
}

// errReauthOtherUser refuses a re-authentication whose ceremony was not
// begun by the logged-in user.
var errReauthOtherUser = NewError("unknown_challenge", "This confirmation was not begun by you here: start it again.")

// Reauthenticate verifies a passkey response to a ceremony the logged-in
// user began (BeginLogin with them, so their passkeys only) and renews
// their session, which RequireRecentAuth then counts from.
func (s *Service) Reauthenticate(w http.ResponseWriter, r *http.Request, user *User, response []byte) (*LoginResult, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	r = s.withRequestInfo(r)
	res, _, err := s.finishLoginAs(w, r, response, user.ID)
	s.countCeremony("reauth", err)
	return res, err
}

// ReauthenticateWithPassword checks the logged-in user's password, with
// the limits of a password login, and renews their session.
func (s *Service) ReauthenticateWithPassword(w http.ResponseWriter, r *http.Request, user *User, password string) (*LoginResult, error) {
	res, err := s.PasswordLogIn(w, r, user.Username, password)
	if err != nil {
		return nil, err
	}
	if res.User.ID != user.ID {
		// The username was renamed in between; the session now belongs
		// to the account whose password was given, which is that user's.
		return nil, errors.New("re-authentication logged in another account")
	}
	return res, nil
}

func (s *Service) handleReauthBegin(w http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	assertion, err := s.BeginLogin(w, r, user)
	return http.StatusOK, assertion, err
}

func (s *Service) handleReauthFinish(w http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	body, err := readBody(r)
	if err != nil {
		return 0, nil, err
	}
	res, err := s.Reauthenticate(w, r, user, body)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, loginBody{res.User.Info(), res.Auth}, nil
}

func (s *Service) handleReauthPassword(w http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	var req struct {
		Password string `json:"password"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.ReauthenticateWithPassword(w, r, user, req.Password)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, loginBody{res.User.Info(), res.Auth}, nil
}
