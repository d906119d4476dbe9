package passkeyd

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/passkeyd/passkeyd/locale"
)

// Error is a failure that a client can be told about: a stable,
// machine-readable code and a message fit to show a person. It knows
// nothing of HTTP: the one table of statuses is statusOfCode. The wrapped
// cause is for logs only and never sent to the client.
type Error struct {
	// Code is the "error" of the JSON answer; docs/api.md lists them.
	Code string
	// Message is the "message": what went wrong, in words.
	Message string
	// Err is the cause, for the log.
	Err error
	// RetryAfter, when set, is how long the client should wait before it
	// tries again (a limit was reached): HTTP says it in Retry-After.
	RetryAfter time.Duration
	// texts are Message's sentences as the message catalog knows them,
	// so that LocalizedMessage can say them in another language.
	texts []text
}

// text is one sentence of a message: its English template, the id of
// its translations (package locale), and what fills its {{.Fields}}.
type text struct {
	template string
	data     map[string]any
}

// msg marks an English text that is said to people, for the catalog's
// tests to find; it returns the text.
func msg(english string) string { return english }

// NewError returns an *Error with the given code and message. The code
// must be one of docs/api.md's, so that it has an HTTP status.
func NewError(code, message string) *Error {
	return &Error{Code: code, Message: message, texts: []text{{template: message}}}
}

// withTexts returns a copy of e whose message is the given sentences.
func (e *Error) withTexts(texts ...text) *Error {
	c := *e
	c.texts = texts
	parts := make([]string, len(texts))
	for i, t := range texts {
		parts[i] = locale.English(t.template, t.data)
	}
	c.Message = strings.Join(parts, " ")
	return &c
}

// LocalizedMessage is e's message in l's language (English when l is
// nil). A message that was set by hand rather than by NewError stays as
// it is.
func (e *Error) LocalizedMessage(l *locale.Localizer) string {
	if l == nil || len(e.texts) == 0 {
		return e.Message
	}
	english := make([]string, len(e.texts))
	parts := make([]string, len(e.texts))
	for i, t := range e.texts {
		english[i] = locale.English(t.template, t.data)
		parts[i] = l.T(t.template, t.data)
	}
	if strings.Join(english, " ") != e.Message {
		return e.Message
	}
	return l.Join(parts)
}

// Wrap returns a copy of e that carries cause, so logs can say what
// happened underneath while the client sees only e's code and message.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// The errors of the package that a client can get, by concern. (The
// passkey management API's are in handlers.go.)
var (
	// ErrNotLoggedIn is the answer to a request that needs a login.
	ErrNotLoggedIn = NewError("not_logged_in", "You need to log in first.")
	// ErrBodyTooLarge is the answer to a request body over MaxBodyBytes.
	ErrBodyTooLarge = NewError("body_too_large", "The request body is larger than 64 KiB.")
	// errIncompleteBody is the answer to a body that ended before it
	// was all sent (a client that went away, or that lied about its
	// length): the client's fault, not ours.
	errIncompleteBody = NewError("incomplete_body", "The request body ended before it was all sent.")
	// ErrInternal is what a client is told about a fault of ours; the
	// cause is logged, never sent.
	ErrInternal = NewError("internal_error", "Something went wrong on our side. Please try again.")
	// ErrUnavailable is what a client is told while the database (or the
	// session store) does not answer.
	ErrUnavailable = NewError("unavailable", "The service is temporarily unavailable. Please try again shortly.")

	errBadRegistration  = NewError("invalid_registration", "The passkey's registration response could not be read.")
	errRegistrationFail = NewError("registration_failed", "The passkey could not be verified.")
	errCredentialExists = NewError("credential_exists", "This passkey is registered already.")
	errCeremonyUnknown  = NewError("unknown_challenge", "This request was not started here, was used already or has expired. Please try again.")
	errCeremonyExpired  = NewError("expired_challenge", "This request took too long and has expired. Please try again.")
	errBadLogin         = NewError("invalid_assertion", "The passkey's response could not be read.")
	errUnknownPasskey   = NewError(CodeUnknownPasskey, "This passkey is not registered here. It may have been deleted.")
	errDisabledPasskey  = NewError("passkey_disabled", "This passkey is disabled. Enable it on the passkeys page, or use another way to log in.")
	errWrongUser        = NewError("wrong_user", "This passkey belongs to another account.")
	errLoginFailed      = NewError("login_failed", "The passkey could not be verified.")
	errAccountLocked    = NewError("account_locked", "This account is locked. Ask the site's staff to unlock it.")
	errPossibleClone    = NewError("possible_clone", "This passkey's signature counter went backwards, a sign that it may have been copied. It was refused and disabled; use another passkey or your password, and re-enable it on the passkeys page if it is yours and was not copied.")
)

// statusOfCode is the one table from an error code to its HTTP status.
// Every code the package, or the site built on it, answers with is here;
// TestEveryCodeHasAStatus keeps it so.
var statusOfCode = map[string]int{
	// The request cannot be read or is not allowed as sent.
	"invalid_json":           http.StatusBadRequest,
	"invalid_type":           http.StatusBadRequest,
	"unknown_field":          http.StatusBadRequest,
	"duplicate_field":        http.StatusBadRequest,
	"bad_form":               http.StatusBadRequest,
	"invalid_name":           http.StatusBadRequest,
	"invalid_page":           http.StatusBadRequest,
	"missing_credentials":    http.StatusBadRequest,
	"bad_next":               http.StatusBadRequest,
	"invalid_registration":   http.StatusBadRequest,
	"registration_failed":    http.StatusBadRequest,
	"unknown_challenge":      http.StatusBadRequest,
	"expired_challenge":      http.StatusBadRequest,
	"body_too_large":         http.StatusRequestEntityTooLarge,
	"incomplete_body":        http.StatusBadRequest,
	"unsupported_media_type": http.StatusUnsupportedMediaType,
	"method_not_allowed":     http.StatusMethodNotAllowed,
	"cross_origin":           http.StatusForbidden,
	"password_login_off":     http.StatusForbidden,
	// Who the client is: not logged in, or a login refused.
	"not_logged_in":     http.StatusUnauthorized,
	"invalid_assertion": http.StatusUnauthorized,
	"unknown_passkey":   http.StatusUnauthorized,
	"passkey_disabled":  http.StatusUnauthorized,
	"wrong_user":        http.StatusUnauthorized,
	"login_failed":      http.StatusUnauthorized,
	"possible_clone":    http.StatusUnauthorized,
	"too_many_attempts": http.StatusTooManyRequests,
	"rate_limited":      http.StatusTooManyRequests,
	// What the request names.
	"not_found":            http.StatusNotFound,
	"reauth_required":      http.StatusUnauthorized,
	"signup_closed":        http.StatusForbidden,
	"username_taken":       http.StatusConflict,
	"invalid_username":     http.StatusBadRequest,
	"invalid_display_name": http.StatusBadRequest,
	"unknown_language":     http.StatusBadRequest,
	"account_locked":       http.StatusForbidden,
	"cannot_change_self":   http.StatusConflict,
	"users_not_kept":       http.StatusNotFound,
	"user_not_found":       http.StatusNotFound,
	"names_not_kept":       http.StatusNotFound,
	"weak_password":        http.StatusBadRequest,
	"wrong_password":       http.StatusForbidden,
	"last_login_method":    http.StatusConflict,
	"invalid_link":         http.StatusBadRequest,
	"passkey_not_found":    http.StatusNotFound,
	"session_not_found":    http.StatusNotFound,
	"sessions_not_kept":    http.StatusNotFound,
	"credential_exists":    http.StatusConflict,
	"passkey_enabled":      http.StatusConflict,
	"too_many_passkeys":    http.StatusConflict,
	// Ours.
	"busy":           http.StatusServiceUnavailable,
	"unavailable":    http.StatusServiceUnavailable,
	"internal_error": http.StatusInternalServerError,
}

// Classify turns any error into the *Error a client is told: the error
// itself when it is one; body_too_large for a body over the limit;
// unavailable while the database cannot be reached; else internal_error,
// which hides the cause.
func Classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return ErrBodyTooLarge.Wrap(err)
	}
	if isUnavailable(err) {
		return ErrUnavailable.Wrap(err)
	}
	return ErrInternal.Wrap(err)
}

// HTTPStatus is the status of the answer to err: its code's, from the one
// table; 500 for a code the table does not know.
func HTTPStatus(err error) int {
	if status, ok := statusOfCode[Classify(err).Code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// CodeUnknownPasskey is the error code of a login with a passkey the site
// does not know (deleted here): the browser's Signal API is told of it.
const CodeUnknownPasskey = "unknown_passkey"

// LoginFailureStatus is the status of a failed login's answer: 401 for
// anything the client got wrong — SPEC §3 has every failure of a login
// finish answer 401, so that a refusal tells as little as possible — but
// 413 for a body over the limit and 429 for a client over its rate; our
// own faults keep their 5xx.
func LoginFailureStatus(err error) int {
	status := HTTPStatus(err)
	if status < 500 && status != http.StatusRequestEntityTooLarge && status != http.StatusTooManyRequests {
		return http.StatusUnauthorized
	}
	return status
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// writeJSON writes v as a JSON answer with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	// Answers are the caller's own unless the handler says otherwise.
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	// An encoding error here means the client went away; there is nobody
	// left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes err as a JSON error answer {"error","message"} with
// the given status, and logs it (see LogFailure).
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, status int, err error) {
	LogFailure(s.log, r, status, err)
	SetRetryAfter(w, err)
	e, l := Classify(err), s.Localizer(r)
	w.Header().Set("Content-Language", l.Lang())
	writeJSON(w, status, errorBody{Error: e.Code, Message: e.LocalizedMessage(l)})
}

// LogFailure logs a request's failure at the level it deserves: a fault
// of ours (5xx) at ERROR, once, with its cause, which the client never
// sees; too many password logins at once (busy) at WARN, since it is the
// load, not a fault; a client's mistake with a cause to tell (a refused
// login, a cut body), or a client that went away, at INFO, so that no
// client can fill the log with errors.
func LogFailure(log *slog.Logger, r *http.Request, status int, err error) {
	e := Classify(err)
	ctx := r.Context()
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "code", e.Code, "err", err}
	switch {
	case ctx.Err() != nil:
		log.InfoContext(ctx, "client went away", attrs...)
	case e.Code == ErrBusy.Code:
		log.WarnContext(ctx, "request refused: busy", attrs...)
	case status >= 500:
		log.ErrorContext(ctx, "request failed", attrs...)
	case e.Err != nil:
		log.InfoContext(ctx, "request refused", attrs...)
	}
}

// SetRetryAfter sets the Retry-After header of an answer to err when err
// says when to try again (a limit was reached).
func SetRetryAfter(w http.ResponseWriter, err error) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
}

// WriteError answers r with err as a JSON error, its status from the one
// table, and logs it through the Service's logger when the fault is ours.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, HTTPStatus(err), err)
}

// Localizer speaks the language of r: Config.Messages's choice for it.
func (s *Service) Localizer(r *http.Request) *locale.Localizer {
	return s.messages.ForRequest(r)
}

// Messages is the catalog of the languages the Service speaks.
func (s *Service) Messages() *locale.Catalog { return s.messages }

// ErrorMessage is what a person is told of err, in r's language.
func (s *Service) ErrorMessage(r *http.Request, err error) string {
	return Classify(err).LocalizedMessage(s.Localizer(r))
}

// isUnavailable reports whether err means the database could not be
// reached (as opposed to a bug): a 503, not a 500. A connection that the
// server or the network ends in the middle of an answer surfaces as
// io.ErrUnexpectedEOF (or io.EOF) from the drivers, not as a net.Error;
// one that PostgreSQL ends itself, as a SQLSTATE (unavailableSQLState).
func isUnavailable(err error) bool {
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || unavailableSQLState(err)
}

// unavailableSQLState reports whether err carries a SQLSTATE (through a
// SQLState method, as pgx's *pgconn.PgError has) that means the database
// is going away or cannot take the connection now: class 08 (connection
// exception); 57P01, 57P02, 57P03 (admin_shutdown, crash_shutdown,
// cannot_connect_now: a restart, a failover, pg_terminate_backend); 53300
// (too_many_connections).
func unavailableSQLState(err error) bool {
	var e interface{ SQLState() string }
	if !errors.As(err, &e) {
		return false
	}
	switch code := e.SQLState(); code {
	case "57P01", "57P02", "57P03", "53300":
		return true
	default:
		return strings.HasPrefix(code, "08")
	}
}
