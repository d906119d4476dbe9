package passkeyd

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

var (
	// errInvalidDisplayName refuses a display name that is too long or
	// not text to show.
	errInvalidDisplayName = NewError("invalid_display_name", "").withTexts(text{template: msg("A display name is at most {{.Max}} bytes of text."), data: map[string]any{"Max": MaxDisplayNameLength}})
	// errNamesNotKept answers a name change where the app keeps its users
	// itself.
	errNamesNotKept = NewError("names_not_kept", "This site keeps its users itself; passkeyd cannot change their names.")
)

// cleanDisplayName trims a display name and checks it; empty means the
// username.
func cleanDisplayName(name, username string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return username, nil
	}
	if len(name) > MaxDisplayNameLength || !utf8.ValidString(name) || hasControl(name) {
		return "", errInvalidDisplayName
	}
	return name, nil
}

// SetDisplayName changes the name the logged-in user is shown by (an
// empty one falls back to the username). The browser hears of it on the
// next page that signals the user's details (signalCurrentUserDetails), so
// the passkey in their password manager carries the new name. It needs
// no step-up: the name proves nothing and opens nothing.
func (s *Service) SetDisplayName(r *http.Request, user *User, name string) (*User, error) {
	store, ok := s.users.(UserStore)
	if !ok {
		return nil, errNamesNotKept
	}
	name, err := cleanDisplayName(name, user.Username)
	if err != nil {
		return nil, err
	}
	r = s.withRequestInfo(r)
	ctx := r.Context()
	if err := store.SetDisplayName(ctx, user.ID, name); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotLoggedIn
		}
		return nil, fmt.Errorf("set display name: %w", err)
	}
	s.audit(ctx, s.auditEvent(ctx, user.ID, AuditDisplayNameChanged, AuditOK))
	changed := *user
	changed.DisplayName = name
	return &changed, nil
}

func (s *Service) handleSetDisplayName(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	var req struct {
		DisplayName *string `json:"display_name"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if req.DisplayName == nil {
		return 0, nil, errInvalidDisplayName
	}
	changed, err := s.SetDisplayName(r, user, *req.DisplayName)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		User UserInfo `json:"user"`
	}{changed.Info()}, nil
}
