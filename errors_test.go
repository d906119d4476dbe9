package passkeyd

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// sqlStateError stands in for pgx's *pgconn.PgError.
type sqlStateError string

func (e sqlStateError) Error() string    { return "server error " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"our own error", errInvalidName, http.StatusBadRequest},
		{"wrapped own error", fmt.Errorf("x: %w", ErrPasskeyNotFound), http.StatusNotFound},
		{"body too large", &http.MaxBytesError{Limit: 1}, http.StatusRequestEntityTooLarge},
		{"bad connection", fmt.Errorf("query: %w", driver.ErrBadConn), http.StatusServiceUnavailable},
		{"deadline", context.DeadlineExceeded, http.StatusServiceUnavailable},
		{"network", &net.OpError{Op: "dial", Err: errors.New("refused")}, http.StatusServiceUnavailable},
		{"cut mid-answer", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), http.StatusServiceUnavailable},
		{"admin shutdown", sqlStateError("57P01"), http.StatusServiceUnavailable},
		{"connection exception", sqlStateError("08006"), http.StatusServiceUnavailable},
		{"too many connections", sqlStateError("53300"), http.StatusServiceUnavailable},
		{"syntax error is ours", sqlStateError("42601"), http.StatusInternalServerError},
		{"unique violation is ours", sqlStateError("23505"), http.StatusInternalServerError},
		{"anything else", errors.New("boom"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got.Status != tt.want {
				t.Fatalf("Classify(%v) = %d, want %d", tt.err, got.Status, tt.want)
			}
		})
	}
}

func TestVerificationMessage(t *testing.T) {
	for devInfo, want := range map[string]string{
		"User verification required but flag not set by authenticator": "verify it is you",
		"User presence required but flag not set by authenticator":     "present",
		"RP Hash mismatch. Expected x and Received y":                  "another site",
		"something else": "",
	} {
		got := verificationMessage(devInfo)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("verificationMessage(%q) = %q, want it to say %q", devInfo, got, want)
		}
	}
}
