package passkeyd_test

// Benchmarks for each layer of one passkey login, so the cost of each is
// visible (docs/performance.md): the bare ECDSA P-256 verify, go-webauthn's
// parse + validate of the same assertion, and our begin and finish handlers
// with the real SQLite store.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
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
	b.Helper()
	h := newHarness(b, harnessOptions{})
	c := h.client()
	c.logInAs(b, h.user(b, "bench"))
	a := passkeytest.New(h.origin, passkeytest.Options{})
	c.register(b, a, "bench")
	return &benchServer{h: h.srv.Config.Handler, a: a, harness: h}
}

// post calls the handler and returns the answer and its headers. The
// session cookie is sent when not "", and the ceremony's sealed state
// when not "". It calls no b.Helper(), which would be timed with every
// request of the loop.
func (s *benchServer) post(b *testing.B, path, cookie, ceremony string, body []byte, want int) ([]byte, http.Header) {
	req := httptest.NewRequest("POST", "https://localhost"+path, bytes.NewReader(body))
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.Header.Set("Cookie", passkeyd.CookieName+"="+cookie)
	}
	if ceremony != "" {
		req.Header.Set(passkeyd.CeremonyHeader, ceremony)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Errorf("POST %s = %d %s, want %d", path, rec.Code, rec.Body, want)
	}
	return rec.Body.Bytes(), rec.Header()
}

// begin begins an anonymous login and returns the options and the sealed
// state.
func (s *benchServer) begin(b *testing.B) ([]byte, string) {
	opts, hdr := s.post(b, "/api/login/begin", "", "", nil, http.StatusOK)
	return opts, hdr.Get(passkeyd.CeremonyHeader)
}

// BenchmarkLoginBegin is /api/login/begin for an anonymous browser: a
// challenge, sealed with the ceremony's state; nothing stored.
func BenchmarkLoginBegin(b *testing.B) {
	s := newBenchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		s.begin(b)
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
		opts, state := s.begin(b)
		resp, err := s.a.Login(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s.post(b, "/api/login/finish", "", state, resp, http.StatusOK)
	}
}

// BenchmarkLogin is a whole login, begin and finish, with the
// authenticator's signing (client work) outside the timer.
func BenchmarkLogin(b *testing.B) {
	s := newBenchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		opts, state := s.begin(b)
		b.StopTimer()
		resp, err := s.a.Login(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s.post(b, "/api/login/finish", "", state, resp, http.StatusOK)
	}
}

// BenchmarkLoginFinishConcurrent is /api/login/finish from 1, 16 and 64
// clients at once, on one SQLite file: concurrent finishes share the
// writer's commits (group commit). ns/op is wall time per finish, so it
// falls as commits are shared; writes/commit says how many finishes one
// commit held. The ceremonies are begun and answered before the timer.
func BenchmarkLoginFinishConcurrent(b *testing.B) {
	for _, clients := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s := newBenchServer(b)
			type answer struct {
				state string
				resp  []byte
			}
			answers := make([]answer, b.N)
			for i := range answers {
				opts, state := s.begin(b)
				resp, err := s.a.Login(opts)
				if err != nil {
					b.Fatal(err)
				}
				answers[i] = answer{state, resp}
			}
			before := s.harness.db.Stats()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for range clients {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(len(answers)); i = next.Add(1) - 1 {
						s.post(b, "/api/login/finish", "", answers[i].state, answers[i].resp, http.StatusOK)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			after := s.harness.db.Stats()
			if commits := after.Commits - before.Commits; commits > 0 {
				b.ReportMetric(float64(after.Writes-before.Writes)/float64(commits), "writes/commit")
			}
		})
	}
}

// BenchmarkPendingCeremonyState reports how much state one pending (begun,
// not finished) anonymous login keeps: rows on the server (none) and the
// sealed state the client carries.
func BenchmarkPendingCeremonyState(b *testing.B) {
	s := newBenchServer(b)
	rows0 := s.harness.rowCount(b)
	sealed := 0
	for b.Loop() {
		_, state := s.begin(b)
		sealed = len(state)
	}
	b.ReportMetric(float64(s.harness.rowCount(b)-rows0)/float64(b.N), "server-rows/ceremony")
	b.ReportMetric(float64(sealed), "sealed-bytes/ceremony")
}
