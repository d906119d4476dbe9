package passkeyd_test

// Benchmarks for each layer of one passkey login, so the cost of each is
// visible (docs/performance.md): the bare ECDSA P-256 verify, go-webauthn's
// parse + validate of the same assertion, and our begin and finish handlers
// with the real SQLite and session stores.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// BenchmarkECDSAVerify is the floor: the one signature check a passkey
// login cannot skip.
func BenchmarkECDSAVerify(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("authenticator data and client data hash"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
			b.Fatal("verify failed")
		}
	}
}

// benchUser is a webauthn.User for the library-only benchmark.
type benchUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *benchUser) WebAuthnID() []byte                         { return u.id }
func (u *benchUser) WebAuthnName() string                       { return "bench" }
func (u *benchUser) WebAuthnDisplayName() string                { return "bench" }
func (u *benchUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// BenchmarkWebAuthnValidate is go-webauthn's own work for one ES256
// assertion: parse the AuthenticationResponseJSON and validate it.
func BenchmarkWebAuthnValidate(b *testing.B) {
	const origin = "https://localhost:8000"
	wa, err := webauthn.New(&webauthn.Config{RPID: "localhost", RPDisplayName: "bench", RPOrigins: []string{origin}})
	if err != nil {
		b.Fatal(err)
	}
	user := &benchUser{id: []byte("bench-user-handle-0123456789abcd")}
	a := passkeytest.New(origin, passkeytest.Options{})
	creation, sd, err := wa.BeginRegistration(user)
	if err != nil {
		b.Fatal(err)
	}
	opts, _ := json.Marshal(creation)
	reg, err := a.Register(opts)
	if err != nil {
		b.Fatal(err)
	}
	parsedReg, err := protocol.ParseCredentialCreationResponseBytes(reg)
	if err != nil {
		b.Fatal(err)
	}
	cred, err := wa.CreateCredential(user, *sd, parsedReg)
	if err != nil {
		b.Fatal(err)
	}
	user.creds = []webauthn.Credential{*cred}
	assertion, loginSession, err := wa.BeginDiscoverableLogin()
	if err != nil {
		b.Fatal(err)
	}
	opts, _ = json.Marshal(assertion)
	resp, err := a.Login(opts)
	if err != nil {
		b.Fatal(err)
	}
	handler := func([]byte, []byte) (webauthn.User, error) { return user, nil }
	b.ReportAllocs()
	for b.Loop() {
		parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := wa.ValidatePasskeyLogin(handler, *loginSession, parsed); err != nil {
			b.Fatal(err)
		}
	}
}

// benchServer is the JSON API on a real SQLite file, called in-process.
type benchServer struct {
	h       http.Handler
	a       *passkeytest.Authenticator
	harness *harness
}

func newBenchServer(b *testing.B) *benchServer {
	h := newHarness(b, harnessOptions{})
	c := h.client()
	c.logInAs(h.user("bench"))
	a := passkeytest.New(h.origin, passkeytest.Options{})
	c.register(a, "bench")
	return &benchServer{h: h.srv.Config.Handler, a: a, harness: h}
}

// post calls the handler and returns the answer and the session cookie it
// set (or the one sent).
func (s *benchServer) post(b *testing.B, path, cookie string, body []byte, want int) ([]byte, string) {
	req := httptest.NewRequest("POST", "https://localhost"+path, strings.NewReader(string(body)))
	if cookie != "" {
		req.Header.Set("Cookie", passkeyd.CookieName+"="+cookie)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("POST %s = %d %s, want %d", path, rec.Code, rec.Body, want)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == passkeyd.CookieName {
			cookie = c.Value
		}
	}
	return rec.Body.Bytes(), cookie
}

// BenchmarkLoginBegin is /api/login/begin for a new (anonymous) session:
// a challenge, a ceremony row and a session row.
func BenchmarkLoginBegin(b *testing.B) {
	s := newBenchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		s.post(b, "/api/login/begin", "", nil, http.StatusOK)
	}
}

// BenchmarkLoginFinish is /api/login/finish: everything a passkey login
// does after the browser answered. The begin and the authenticator's
// signature are outside the timer.
func BenchmarkLoginFinish(b *testing.B) {
	s := newBenchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		opts, cookie := s.post(b, "/api/login/begin", "", nil, http.StatusOK)
		resp, err := s.a.Login(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s.post(b, "/api/login/finish", cookie, resp, http.StatusOK)
	}
}

// BenchmarkLogin is a whole login, begin and finish, with the
// authenticator's signing (client work) outside the timer.
func BenchmarkLogin(b *testing.B) {
	s := newBenchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		opts, cookie := s.post(b, "/api/login/begin", "", nil, http.StatusOK)
		b.StopTimer()
		resp, err := s.a.Login(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s.post(b, "/api/login/finish", cookie, resp, http.StatusOK)
	}
}

// BenchmarkPendingCeremonyState reports how much server state one pending
// (begun, not finished) anonymous login keeps: its ceremony row and the
// session row that ties it to the browser, as stored.
func BenchmarkPendingCeremonyState(b *testing.B) {
	s := newBenchServer(b)
	db := s.harness.db.SQL()
	count := func() (rows, bytes int) {
		var cr, cb, sr, sb int
		if err := db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(length(key) + length(kind) + length(owner) + length(user_id) + length(data) + 8), 0) FROM ceremonies`).Scan(&cr, &cb); err != nil {
			b.Fatal(err)
		}
		if err := db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(length(token) + length(data) + 8), 0) FROM sessions`).Scan(&sr, &sb); err != nil {
			b.Fatal(err)
		}
		return cr, cb + sb
	}
	rows0, bytes0 := count()
	for b.Loop() {
		s.post(b, "/api/login/begin", "", nil, http.StatusOK)
	}
	rows1, bytes1 := count()
	b.ReportMetric(float64(bytes1-bytes0)/float64(rows1-rows0), "state-bytes/ceremony")
}
