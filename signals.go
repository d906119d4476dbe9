package passkeyd

import (
	"encoding/base64"
	"net/http"
)

// SignalInfo is what the browser's Signal API (WebAuthn Level 3) needs
// to keep a password manager's passkeys in step with the site: the
// logged-in user's handle and names, and the ids of their enabled
// passkeys, base64url. passkey.js sends it to
// PublicKeyCredential.signalAllAcceptedCredentials and
// signalCurrentUserDetails, so that a passkey deleted or disabled here
// leaves the user's password manager too.
type SignalInfo struct {
	RPID                  string   `json:"rp_id"`
	UserID                string   `json:"user_id"`
	Name                  string   `json:"name"`
	DisplayName           string   `json:"display_name"`
	AcceptedCredentialIDs []string `json:"accepted_credential_ids"`
}

// RPID is the relying-party id the Service's passkeys belong to.
func (s *Service) RPID() string { return s.cfg.RPID }

// Signals returns the user's SignalInfo.
func (s *Service) Signals(r *http.Request, user *User) (*SignalInfo, error) {
	passkeys, err := s.store.UserPasskeys(r.Context(), user.ID)
	if err != nil {
		return nil, err
	}
	info := &SignalInfo{
		RPID: s.cfg.RPID, UserID: base64.RawURLEncoding.EncodeToString(user.Handle),
		Name: user.Username, DisplayName: user.DisplayName, AcceptedCredentialIDs: []string{},
	}
	for _, p := range passkeys {
		if p.Enabled {
			info.AcceptedCredentialIDs = append(info.AcceptedCredentialIDs, base64.RawURLEncoding.EncodeToString(p.CredentialID))
		}
	}
	return info, nil
}

func (s *Service) handleSignals(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	info, err := s.Signals(r, user)
	return http.StatusOK, info, err
}
