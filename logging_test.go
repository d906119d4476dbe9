package passkeyd_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// levels is a slog handler that keeps the level of each record.
type levels struct {
	mu  sync.Mutex
	got []slog.Level
}

func (l *levels) Enabled(context.Context, slog.Level) bool { return true }
func (l *levels) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, r.Level)
	return nil
}
func (l *levels) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *levels) WithGroup(string) slog.Handler      { return l }

func (l *levels) max() slog.Level {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := slog.LevelDebug - 1
	for _, v := range l.got {
		m = max(m, v)
	}
	return m
}

// Each failure is logged at the level it deserves: only our own faults
// are errors, so that no client can fill the log with them.
func TestLogFailureLevels(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name   string
		ctx    context.Context
		status int
		err    error
		want   slog.Level
	}{
		{"a fault of ours", context.Background(), 500, errors.New("disk on fire"), slog.LevelError},
		{"the database away", context.Background(), 503, passkeyd.ErrUnavailable, slog.LevelError},
		{"too many password logins at once", context.Background(), 503, passkeyd.ErrBusy.Wrap(context.DeadlineExceeded), slog.LevelWarn},
		{"a client that went away", gone, 500, context.Canceled, slog.LevelInfo},
		{"a client's mistake", context.Background(), 400, passkeyd.NewError("invalid_json", "x").Wrap(errors.New("cause")), slog.LevelInfo},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &levels{}
			r := httptest.NewRequest("POST", "/api/x", nil).WithContext(tt.ctx)
			passkeyd.LogFailure(slog.New(h), r, tt.status, tt.err)
			if got := h.max(); got != tt.want {
				t.Fatalf("logged at %v, want %v", got, tt.want)
			}
		})
	}
}

// cutReader is a body that ends before its length: a client that went
// away mid-body.
type cutReader struct{ sent bool }

func (c *cutReader) Read(p []byte) (int, error) {
	if c.sent {
		return 0, io.ErrUnexpectedEOF
	}
	c.sent = true
	return copy(p, `{"username":"a`), nil
}

// A body cut short is the client's doing: 400 incomplete_body, and
// nothing at ERROR.
func TestCutBodyIsNoError(t *testing.T) {
	h := &levels{}
	store := passkeytest.NewMemoryStore()
	svc, err := passkeyd.NewService(passkeyd.Config{
		RPID: "localhost", RPName: "test", Origins: []string{"https://localhost"}, Logger: slog.New(h),
	}, passkeyd.Deps{Users: store, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Routes(mux)
	for _, path := range []string{"/api/login/password", "/api/login/finish"} {
		req := httptest.NewRequest("POST", path, &cutReader{})
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = 100
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code >= 500 || !strings.Contains(rec.Body.String(), "incomplete_body") {
			t.Errorf("POST %s with a cut body: %d %s, want a 4xx incomplete_body", path, rec.Code, rec.Body)
		}
	}
	if got := h.max(); got >= slog.LevelWarn {
		t.Fatalf("a cut body was logged at %v", got)
	}
}
