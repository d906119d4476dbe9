package passkeyd

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
)

// sqlStateError stands in for pgx's *pgconn.PgError.
type sqlStateError string

func (e sqlStateError) Error() string    { return "server error " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

func TestHTTPStatus(t *testing.T) {
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
		{"connection refused, wrapped by a driver", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), http.StatusServiceUnavailable},
		{"cut mid-answer", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), http.StatusServiceUnavailable},
		{"admin shutdown", sqlStateError("57P01"), http.StatusServiceUnavailable},
		{"connection exception", sqlStateError("08006"), http.StatusServiceUnavailable},
		{"too many connections", sqlStateError("53300"), http.StatusServiceUnavailable},
		{"syntax error is ours", sqlStateError("42601"), http.StatusInternalServerError},
		{"unique violation is ours", sqlStateError("23505"), http.StatusInternalServerError},
		{"the words connection refused are not enough", errors.New("connection refused"), http.StatusInternalServerError},
		{"a code of nobody's", NewError("no_such_code", "?"), http.StatusInternalServerError},
		{"anything else", errors.New("boom"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTTPStatus(tt.err); got != tt.want {
				t.Fatalf("HTTPStatus(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestLoginFailureStatus(t *testing.T) {
	for err, want := range map[error]int{
		errCeremonyUnknown:                  http.StatusUnauthorized,
		errCeremonyExpired:                  http.StatusUnauthorized,
		errInvalidJSON:                      http.StatusUnauthorized,
		&http.MaxBytesError{Limit: 1}:       http.StatusRequestEntityTooLarge,
		fmt.Errorf("q: %w", io.EOF):         http.StatusServiceUnavailable,
		errors.New("a bug of ours, say"):    http.StatusInternalServerError,
		fmt.Errorf("x: %w", errLoginFailed): http.StatusUnauthorized,
	} {
		if got := LoginFailureStatus(err); got != want {
			t.Errorf("LoginFailureStatus(%v) = %d, want %d", err, got, want)
		}
	}
}

// TestEveryCodeHasAStatus reads the package's and the site's source for
// every error code they make (NewError("code", ...) and e.Code = "code")
// and checks that the one table of statuses has it.
func TestEveryCodeHasAStatus(t *testing.T) {
	found := 0
	for _, dir := range []string{".", filepath.Join("internal", "site")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				var lit ast.Expr
				switch n := n.(type) {
				case *ast.CallExpr:
					if fn, ok := n.Fun.(*ast.Ident); ok && fn.Name == "NewError" && len(n.Args) > 0 {
						lit = n.Args[0]
					}
					if fn, ok := n.Fun.(*ast.SelectorExpr); ok && fn.Sel.Name == "NewError" && len(n.Args) > 0 {
						lit = n.Args[0]
					}
				case *ast.AssignStmt:
					if sel, ok := n.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Code" && len(n.Rhs) == 1 {
						lit = n.Rhs[0]
					}
				}
				if b, ok := lit.(*ast.BasicLit); ok && b.Kind == token.STRING {
					code, _ := strconv.Unquote(b.Value)
					found++
					if _, ok := statusOfCode[code]; !ok {
						t.Errorf("%s: code %q has no status in statusOfCode", name, code)
					}
				}
				return true
			})
		}
	}
	if found < 30 {
		t.Fatalf("found only %d codes: the test no longer reads the source it means to", found)
	}
}

func TestAuthenticatorProblem(t *testing.T) {
	s := &Service{cfg: Config{RPID: "example.com"}}
	rpIDHash := sha256.Sum256([]byte("example.com"))
	other := sha256.Sum256([]byte("evil.example"))
	up, uv := protocol.FlagUserPresent, protocol.FlagUserVerified
	tests := []struct {
		name     string
		hash     []byte
		flags    protocol.AuthenticatorFlags
		required protocol.UserVerificationRequirement
		want     string // part of the explanation; "" for none
	}{
		{"all as needed", rpIDHash[:], up | uv, protocol.VerificationRequired, ""},
		{"no verification where it is only preferred", rpIDHash[:], up, protocol.VerificationPreferred, ""},
		{"another site's passkey", other[:], up | uv, protocol.VerificationPreferred, "another site"},
		{"no user presence", rpIDHash[:], uv, protocol.VerificationPreferred, "present"},
		{"no user verification where it is required", rpIDHash[:], up, protocol.VerificationRequired, "verify it is you"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.authenticatorProblem(protocol.AuthenticatorData{RPIDHash: tt.hash, Flags: tt.flags}, tt.required)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("authenticatorProblem = %q, want it to say %q", got, tt.want)
			}
		})
	}
}
