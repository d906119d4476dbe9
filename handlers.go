package passkeyd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxBodyBytes is the largest request body the JSON API reads.
const MaxBodyBytes = 64 << 10

// PageSize is how many passkeys a page lists.
const PageSize = 50

// MaxPasskeyNameLength is the longest passkey name, in characters.
const MaxPasskeyNameLength = 64

// Errors of the passkey management API.
var (
	// ErrPasskeyNotFound is the answer about a passkey that is not the
	// caller's, or not there.
	ErrPasskeyNotFound = NewError("passkey_not_found", "There is no such passkey.")
	errDeleteEnabled   = NewError("passkey_enabled", "Disable the passkey before you delete it.")
	errInvalidJSON     = NewError("invalid_json", "The request body is not valid JSON.")
	errInvalidName     = NewError("invalid_name", "").withTexts(text{template: msg("A passkey name is text of at most {{.Max}} characters."), data: map[string]any{"Max": MaxPasskeyNameLength}})
	errInvalidPage     = NewError("invalid_page", "The page must be a whole number from 1.")
	errJSONType        = NewError("unsupported_media_type", "The request body must be sent as application/json.")
)

// Router is where Routes registers the JSON API: an *http.ServeMux, or
// anything with its Handle.
type Router interface {
	Handle(pattern string, handler http.Handler)
}

// Routes registers the JSON API on mux (docs/api.md): the passkey
// ceremonies, password login, the session and logout, and passkey
// management. Wrap mux in the Service's Handler, so that each request
// reads its session once, and in http.CrossOriginProtection.
func (s *Service) Routes(mux Router) {
	mux.Handle("GET /.well-known/webauthn", http.HandlerFunc(s.handleRelatedOrigins))
	mux.Handle("GET /api/session", s.api(userUnused, s.handleSession))
	mux.Handle("POST /api/logout", s.api(userRequired, s.handleLogout))
	mux.Handle("POST /api/login/password", s.api(userUnused, s.handlePasswordLogin))
	mux.Handle("POST /api/passkeys/register/begin", s.api(userRequired, s.handleRegisterBegin))
	mux.Handle("POST /api/passkeys/register/finish", s.api(userRequired, s.handleRegisterFinish))
	mux.Handle("POST /api/login/begin", s.api(userOptional, s.handleLoginBegin))
	mux.Handle("POST /api/login/finish", s.apiWith(userUnused, LoginFailureStatus, s.handleLoginFinish))
	mux.Handle("POST /api/signup/begin", s.api(userUnused, s.handleSignUpBegin))
	mux.Handle("POST /api/signup/finish", s.api(userUnused, s.handleSignUpFinish))
	mux.Handle("POST /api/signup/password", s.api(userUnused, s.handleSignUpPassword))
	mux.Handle("POST /api/reauth/begin", s.api(userRequired, s.handleReauthBegin))
	mux.Handle("POST /api/reauth/finish", s.apiWith(userRequired, LoginFailureStatus, s.handleReauthFinish))
	mux.Handle("POST /api/reauth/password", s.api(userRequired, s.handleReauthPassword))
	mux.Handle("POST /api/password", s.api(userRequired, s.handleChangePassword))
	mux.Handle("POST /api/recovery-codes", s.api(userRequired, s.handleRecoveryCodes))
	mux.Handle("POST /api/login/recovery", s.api(userUnused, s.handleRecoveryLogin))
	mux.Handle("POST /api/login/link", s.api(userUnused, s.handleLinkLogin))
	mux.Handle("GET /api/sessions", s.api(userRequired, s.handleSessions))
	mux.Handle("DELETE /api/sessions/{id}", s.api(userRequired, s.handleEndSession))
	mux.Handle("POST /api/sessions/logout-others", s.api(userRequired, s.handleEndOtherSessions))
	mux.Handle("GET /api/signals", s.api(userRequired, s.handleSignals))
	mux.Handle("PATCH /api/user", s.api(userRequired, s.handleSetDisplayName))
	mux.Handle("GET /api/passkeys", s.api(userRequired, s.handleList))
	if _, ok := s.users.(UserStore); ok {
		// The admin, where passkeyd keeps the users.
		mux.Handle("GET /api/admin/users", s.staffOnly(s.handleAdminUsers))
		mux.Handle("POST /api/admin/users", s.staffOnly(s.handleAdminCreateUser))
		mux.Handle("GET /api/admin/users/{id}", s.staffOnly(s.handleAdminUser))
		mux.Handle("PATCH /api/admin/users/{id}", s.staffOnly(s.handleAdminUpdateUser))
		mux.Handle("PATCH /api/admin/users/{id}/passkeys/{passkey}", s.adminChange(s.handleAdminUpdatePasskey))
		mux.Handle("DELETE /api/admin/users/{id}/passkeys/{passkey}", s.adminChange(s.handleAdminDeletePasskey))
		mux.Handle("DELETE /api/admin/users/{id}/sessions/{session}", s.adminChange(s.handleAdminEndSession))
		mux.Handle("POST /api/admin/users/{id}/sessions/end-all", s.adminChange(s.handleAdminEndSessions))
		mux.Handle("POST /api/admin/users/{id}/password", s.adminChange(s.handleAdminSetPassword))
		mux.Handle("POST /api/admin/users/{id}/login-link", s.adminChange(s.handleAdminLoginLink))
	}
	mux.Handle("GET /api/passkeys/{id}", s.api(userRequired, s.handleGet))
	mux.Handle("PATCH /api/passkeys/{id}", s.api(userRequired, s.handleUpdate))
	mux.Handle("DELETE /api/passkeys/{id}", s.api(userRequired, s.handleDelete))
}

// apiFunc is a JSON API handler: it gets the logged-in user (nil when
// nobody is and the route allows that) and returns the status and body of
// its answer, or an error.
type apiFunc func(w http.ResponseWriter, r *http.Request, user *User) (status int, body any, err error)

// What a route needs to know of the logged-in user.
type userNeed int

const (
	userUnused   userNeed = iota // the route does not look (no lookup)
	userOptional                 // nil when nobody is logged in
	userRequired                 // 401 when nobody is logged in
)

// api adapts an apiFunc: it finds the logged-in user as the route needs,
// and writes the answer or the error.
func (s *Service) api(need userNeed, h apiFunc) http.Handler {
	return s.apiWith(need, HTTPStatus, h)
}

// apiWith is api with the status an error gets: a login finish answers
// every refusal with 401.
func (s *Service) apiWith(need userNeed, status func(error) int, h apiFunc) http.Handler {
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		s.writeError(w, r, status(err), err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		r = s.withRequestInfo(r)
		if err := checkJSONType(r); err != nil {
			fail(w, r, err)
			return
		}
		var user *User
		if need != userUnused {
			u, _, err := s.CurrentUser(r)
			if err != nil && (need == userRequired || !errors.Is(err, ErrNotLoggedIn)) {
				fail(w, r, err)
				return
			}
			user = u
		}
		status, body, err := h(w, r, user)
		switch {
		case err != nil:
			fail(w, r, err)
		case body == nil:
			w.WriteHeader(status)
		default:
			writeJSON(w, status, body)
		}
	})
}

// readBody reads the request body: over the limit is body_too_large,
// cut short is incomplete_body, both the client's doing.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return b, nil
	case errors.As(err, &tooLarge):
		return nil, ErrBodyTooLarge.Wrap(err)
	default:
		return nil, errIncompleteBody.Wrap(err)
	}
}

// checkJSONType refuses a request whose body is not declared JSON: a
// form or text/plain post (which a browser may send across sites without
// asking) is never read as JSON. A request without a body (a begin, a
// GET) needs no type.
func checkJSONType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return errJSONType
	}
	return nil
}

// PasskeyInfo is a passkey as the JSON API shows it.
type PasskeyInfo struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Platform       string     `json:"platform"`
	Provider       string     `json:"provider"`
	AAGUID         string     `json:"aaguid"`
	Enabled        bool       `json:"enabled"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackupEligible bool       `json:"backup_eligible"`
	BackedUp       bool       `json:"backed_up"`
	Transports     []string   `json:"transports"`
	SignCount      uint32     `json:"sign_count"`
	CloneWarning   bool       `json:"clone_warning"`
}

// Info returns the passkey as the JSON API shows it.
func (p *Passkey) Info() PasskeyInfo {
	info := PasskeyInfo{
		ID: p.ID, Name: p.Name, Platform: p.Platform, Provider: p.Provider,
		Enabled: p.Enabled, CreatedAt: p.CreatedAt.UTC().Truncate(time.Second),
		BackupEligible: p.BackupEligible, BackedUp: p.BackupState,
		Transports: p.Transports, SignCount: p.SignCount, CloneWarning: p.CloneWarning,
	}
	if info.Transports == nil {
		info.Transports = []string{}
	}
	if id, err := uuid.FromBytes(aaguidBytes(p.AAGUID)); err == nil {
		info.AAGUID = id.String()
	}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt.UTC().Truncate(time.Second)
		info.LastUsedAt = &t
	}
	return info
}

type passkeyBody struct {
	Passkey PasskeyInfo `json:"passkey"`
}

func (s *Service) handleRegisterBegin(w http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	if err := s.RequireRecentAuth(r); err != nil {
		return 0, nil, err
	}
	// The body is ignored but for {"conditional": true}: a conditional
	// create. SPEC lets a client send anything else (empty, {}).
	var req struct {
		Conditional bool `json:"conditional"`
	}
	if body, err := readBody(r); err == nil && len(body) > 0 {
		_ = json.Unmarshal(body, &req)
	}
	if req.Conditional {
		creation, err := s.BeginConditionalRegistration(w, r, user)
		return http.StatusOK, creation, err
	}
	creation, err := s.BeginRegistration(w, r, user)
	return http.StatusOK, creation, err
}

func (s *Service) handleRegisterFinish(w http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	body, err := readBody(r)
	if err != nil {
		return 0, nil, err
	}
	if err := s.RequireRecentAuth(r); err != nil {
		return 0, nil, err
	}
	p, err := s.FinishRegistration(w, r, user, body)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, passkeyBody{p.Info()}, nil
}

// passkeyName reads the optional "name" beside a registration response:
// absent or null gives "", anything but a string is refused.
func passkeyName(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return "", errInvalidName
	}
	return CleanPasskeyName(name)
}

// CleanPasskeyName trims a passkey name and checks it: at most
// MaxPasskeyNameLength characters of text without control characters.
// "" means "use the default".
func CleanPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxPasskeyNameLength || hasControl(name) {
		return "", errInvalidName
	}
	return name, nil
}

func (s *Service) handleLoginBegin(w http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	// The body is ignored but for {"username": "..."}: a username-first
	// login, for security keys that keep no credential. SPEC lets a
	// client send anything else (empty, {}).
	var req struct {
		Username string `json:"username"`
	}
	if body, err := readBody(r); err == nil && len(body) > 0 {
		_ = json.Unmarshal(body, &req)
	}
	if req.Username != "" {
		assertion, err := s.BeginUsernameLogin(w, r, req.Username)
		return http.StatusOK, assertion, err
	}
	assertion, err := s.BeginLogin(w, r, user)
	return http.StatusOK, assertion, err
}

func (s *Service) handleLoginFinish(w http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	body, err := readBody(r)
	if err != nil {
		return 0, nil, err
	}
	res, err := s.FinishLogin(w, r, body)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, loginBody{res.User.Info(), res.Auth}, nil
}

// loginBody is the answer to a login.
type loginBody struct {
	User UserInfo `json:"user"`
	Auth Auth     `json:"auth"`
}

func (s *Service) handlePasswordLogin(w http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.PasswordLogIn(w, r, req.Username, req.Password)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, loginBody{res.User.Info(), res.Auth}, nil
}

// handleSession tells who is logged in and how: nulls for nobody. With
// the app's sessions, how is not known: auth is null.
func (s *Service) handleSession(_ http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	var body struct {
		User *UserInfo `json:"user"`
		Auth *Auth     `json:"auth"`
	}
	user, sess, err := s.CurrentUser(r)
	switch {
	case errors.Is(err, ErrNotLoggedIn):
		return http.StatusOK, body, nil
	case err != nil:
		return 0, nil, err
	}
	info := user.Info()
	body.User = &info
	if sess != nil {
		body.Auth = &sess.Auth
	}
	return http.StatusOK, body, nil
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	return http.StatusNoContent, nil, s.LogOut(w, r)
}

// ParsePage reads the ?page= query value: 1 when absent, else a whole
// number from 1.
func ParsePage(r *http.Request) (int, error) {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errInvalidPage
	}
	return n, nil
}

// ListPage returns the page'th page of the user's passkeys and the number
// of pages (at least 1).
func (s *Service) ListPage(ctx context.Context, userID string, page int) (PasskeyPage, int, error) {
	// A page so far past the end that its offset would overflow is as
	// empty as any other page past the end.
	offset := math.MaxInt32
	if page-1 < math.MaxInt32/PageSize {
		offset = (page - 1) * PageSize
	}
	list, err := s.store.ListPasskeys(ctx, userID, offset, PageSize)
	if err != nil {
		return list, 0, err
	}
	pages := max(1, (list.Total+PageSize-1)/PageSize)
	return list, pages, nil
}

func (s *Service) handleList(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	page, err := ParsePage(r)
	if err != nil {
		return 0, nil, err
	}
	list, pages, err := s.ListPage(r.Context(), user.ID, page)
	if err != nil {
		return 0, nil, err
	}
	infos := make([]PasskeyInfo, len(list.Passkeys))
	for i, p := range list.Passkeys {
		infos[i] = p.Info()
	}
	return http.StatusOK, struct {
		Passkeys []PasskeyInfo `json:"passkeys"`
		Page     int           `json:"page"`
		Pages    int           `json:"pages"`
	}{infos, page, pages}, nil
}

// checkPasskeyID checks a passkey id from a URL; a malformed id is as
// unknown as a missing one.
func checkPasskeyID(id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil || id != u.String() {
		return "", ErrPasskeyNotFound
	}
	return id, nil
}

// Passkey returns one of the user's passkeys; another user's, a missing
// or a malformed id is ErrPasskeyNotFound.
func (s *Service) Passkey(ctx context.Context, userID, id string) (*Passkey, error) {
	if _, err := checkPasskeyID(id); err != nil {
		return nil, err
	}
	p, err := s.store.Passkey(ctx, userID, id)
	return p, notFoundAs(err)
}

// notFoundAs maps the store's ErrNotFound to the client's 404.
func notFoundAs(err error) error {
	if errors.Is(err, ErrNotFound) {
		return ErrPasskeyNotFound
	}
	return err
}

func (s *Service) handleGet(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	p, err := s.Passkey(r.Context(), user.ID, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, passkeyBody{p.Info()}, nil
}

// UpdatePasskey renames, enables or disables one of the user's passkeys.
// An empty name resets it to the passkey's platform name.
func (s *Service) UpdatePasskey(ctx context.Context, userID, id string, u PasskeyUpdate) (*Passkey, error) {
	if u.Name != nil {
		name, err := CleanPasskeyName(*u.Name)
		if err != nil {
			return nil, err
		}
		u.Name = &name
	}
	// The passkey as it was: for the default name, and to tell the audit
	// log what changed.
	before, err := s.Passkey(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if u.Name != nil && *u.Name == "" {
		u.Name = &before.Platform
	}
	if u.Enabled != nil && !*u.Enabled {
		if u.KeepWayIn, err = s.keepWayIn(ctx, userID); err != nil {
			return nil, err
		}
	}
	p, err := s.store.UpdatePasskey(ctx, userID, id, u)
	if err != nil {
		return nil, lastMethodAs(notFoundAs(err))
	}
	var events []AuditEvent
	if u.Name != nil && *u.Name != before.Name {
		events = append(events, s.passkeyEvent(ctx, userID, id, AuditPasskeyRenamed))
	}
	if u.Enabled != nil && *u.Enabled != before.Enabled {
		name := AuditPasskeyDisabled
		if *u.Enabled {
			name = AuditPasskeyEnabled
		}
		events = append(events, s.passkeyEvent(ctx, userID, id, name))
	}
	if len(events) > 0 {
		s.audit(ctx, events...)
	}
	if u.Enabled != nil && !*u.Enabled && before.Enabled {
		if err := s.endPasskeySessions(ctx, userID, id); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// passkeyEvent is the audit event of a change the user made to a passkey.
func (s *Service) passkeyEvent(ctx context.Context, userID, id, name string) AuditEvent {
	e := s.auditEvent(ctx, userID, name, AuditOK)
	e.PasskeyID = id
	return e
}

// DeletePasskey deletes one of the user's passkeys, which must be disabled.
func (s *Service) DeletePasskey(ctx context.Context, userID, id string) error {
	keep, err := s.keepWayIn(ctx, userID)
	if err != nil {
		return err
	}
	err = s.store.DeletePasskey(ctx, userID, id, keep)
	if errors.Is(err, ErrPasskeyEnabled) {
		return errDeleteEnabled
	}
	if err != nil {
		return lastMethodAs(notFoundAs(err))
	}
	s.audit(ctx, s.passkeyEvent(ctx, userID, id, AuditPasskeyDeleted))
	return s.endPasskeySessions(ctx, userID, id)
}

func (s *Service) handleUpdate(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	id, err := checkPasskeyID(r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Name    *string `json:"name"`
		Enabled *bool   `json:"enabled"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Enabled != nil {
		if err := s.RequireRecentAuth(r); err != nil {
			return 0, nil, err
		}
	}
	p, err := s.UpdatePasskey(r.Context(), user.ID, id, PasskeyUpdate{Name: req.Name, Enabled: req.Enabled})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, passkeyBody{p.Info()}, nil
}

func (s *Service) handleDelete(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	id, err := checkPasskeyID(r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if err := s.RequireRecentAuth(r); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, s.DeletePasskey(r.Context(), user.ID, id)
}

// DecodeJSON reads one JSON object from the request body into v (a
// pointer to a struct), refusing anything but an object, members v has no
// field for (by their exact JSON name), wrong types and anything after
// the object, each with a message that says what was wrong.
func DecodeJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	// encoding/json would read invalid UTF-8 as U+FFFD and store that.
	if !utf8.Valid(body) {
		return errInvalidJSON.Wrap(errors.New("the body is not UTF-8"))
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return errInvalidJSON.Wrap(fmt.Errorf("not one JSON object: %w", err))
	}
	known := jsonFieldNames(v)
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if !known[name] {
			e := errInvalidJSON.Wrap(fmt.Errorf("unknown member %q", name)).withTexts(text{
				template: msg("The request has a field this API does not know: {{.Field}}."),
				data:     map[string]any{"Field": strconv.Quote(truncateRunes(name, 40))},
			})
			e.Code = "unknown_field"
			return e
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			e := errInvalidJSON.Wrap(err).withTexts(text{
				template: msg("The field {{.Field}} has the wrong type: want {{.Type}}."),
				data:     map[string]any{"Field": strconv.Quote(typeErr.Field), "Type": typeErr.Type.String()},
			})
			e.Code = "invalid_type"
			return e
		}
		return errInvalidJSON.Wrap(err)
	}
	return nil
}

// jsonFieldNames returns the JSON member names of the struct v points to.
func jsonFieldNames(v any) map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names[name] = true
	}
	return names
}

// truncateRunes cuts s to at most n characters, marking the cut.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
