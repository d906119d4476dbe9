package passkeyd

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Error is a failure that a client can be told about: an HTTP status, a
// stable machine-readable code and a message fit to show a person. The
// wrapped cause is for logs only and never sent to the client.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error
}

// NewError returns an *Error with the given status, code and message.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
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

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// ErrInternal is what a client is told about a fault of ours; the cause is
// logged, never sent.
var ErrInternal = NewError(http.StatusInternalServerError, "internal_error", "Something went wrong on our side. Please try again.")

// ErrUnavailable is what a client is told while the database does not answer.
var ErrUnavailable = NewError(http.StatusServiceUnavailable, "unavailable", "The service is temporarily unavailable. Please try again shortly.")

// WriteJSON writes v as a JSON answer with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// An encoding error here means the client went away; there is nobody
	// left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes err as a JSON error answer {"error","message"}.
func WriteError(w http.ResponseWriter, err error) {
	e := Classify(err)
	WriteJSON(w, e.Status, errorBody{Error: e.Code, Message: e.Message})
}

// Classify turns any error into the *Error a client is told: the error
// itself when it is one; 413 for a body over the limit; 503 while the
// database cannot be reached; else a 500 that hides the cause.
func Classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return ErrBodyTooLarge.Wrap(err)
	}
	if IsUnavailable(err) {
		return ErrUnavailable.Wrap(err)
	}
	return ErrInternal.Wrap(err)
}

// ErrBodyTooLarge is the answer to a request body over the limit.
var ErrBodyTooLarge = NewError(http.StatusRequestEntityTooLarge, "body_too_large", "The request body is larger than 64 KiB.")

// IsUnavailable reports whether err means the database could not be
// reached (as opposed to a bug): a 503, not a 500. A connection that the
// server or the network ends in the middle of an answer surfaces as
// io.ErrUnexpectedEOF (or io.EOF) from the drivers, not as a net.Error;
// one that PostgreSQL ends itself, as a SQLSTATE (unavailableSQLState).
func IsUnavailable(err error) bool {
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		unavailableSQLState(err) || strings.Contains(err.Error(), "connection refused")
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
