package site_test

// docs/openapi.yaml, held to the real handlers: the document is valid
// OpenAPI 3.1 (libopenapi-validator checks it against the specification's
// schema), it documents exactly the JSON routes the site serves, and every
// request and answer of the JSON API's flows — successes and refusals —
// matches it.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// openAPI reads and validates the document, and returns it with a
// validator of requests and answers.
func openAPI(t *testing.T) (libopenapi.Document, validator.Validator) {
	t.Helper()
	spec, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("docs/openapi.yaml: %v", errs)
	}
	return doc, v
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	_, v := openAPI(t)
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("docs/openapi.yaml: %s: %s", e.Message, e.Reason)
		}
	}
}

// TestOpenAPICoversTheRoutes checks both ways: every JSON route the site
// registers is documented, and every documented operation is a route.
func TestOpenAPICoversTheRoutes(t *testing.T) {
	doc, _ := openAPI(t)
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	ts := newTestServer(t, testOpts{})
	var served []string
	for _, pattern := range ts.site.Routes() {
		if method, path, ok := strings.Cut(pattern, " "); ok && (strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/.well-known/")) {
			served = append(served, method+" "+path)
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("docs/openapi.yaml documents\n  %s\nthe site serves\n  %s", strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}
}

// validating is an http.RoundTripper that checks every exchange with an
// /api/ route against the document — the answer always, the request when
// it was accepted — and notes them.
type validating struct {
	t    *testing.T
	next http.RoundTripper
	v    validator.Validator
	mu   sync.Mutex
	seen map[string]bool // "METHOD path status"
}

func (vt *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := vt.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/api/") {
		return resp, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	checked := *resp
	checked.Body = io.NopCloser(bytes.NewReader(answer))
	// An accepted request must be one the document allows; a refused one
	// is often refused for not being one (a bad body, no session), so
	// only its answer is checked.
	validate := vt.v.ValidateHttpResponse
	if resp.StatusCode < 300 {
		validate = vt.v.ValidateHttpRequestResponse
	}
	if ok, errs := validate(check, &checked); !ok {
		for _, e := range errs {
			vt.t.Errorf("%s %s → %d %s: not as docs/openapi.yaml says: %s (%s)", req.Method, req.URL.Path, resp.StatusCode, answer, e.Message, e.Reason)
		}
	}
	vt.mu.Lock()
	vt.seen[fmt.Sprintf("%s %s %d", req.Method, req.URL.Path, resp.StatusCode)] = true
	vt.mu.Unlock()
	return resp, nil
}

// TestOpenAPIMatchesTheAnswers runs the JSON API's flows, good and bad,
// through a client that checks each request and answer against the
// document.
func TestOpenAPIMatchesTheAnswers(t *testing.T) {
	_, v := openAPI(t)
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, alice, alicePw)
	vt := &validating{t: t, v: v, seen: map[string]bool{}}
	client := func() *http.Client {
		c := ts.client(t)
		vt.next = c.Transport
		c.Transport = vt
		return c
	}
	json := func(c *http.Client, method, path, body string, want int, header ...string) string {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
			header = append(header, "Content-Type", "application/json")
		}
		r := ts.do(t, c, ts.request(t, method, path, rd, header...))
		if r.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, r.StatusCode, r.body, want)
		}
		return r.body
	}

	anon := client()
	json(anon, "GET", "/api/session", "", http.StatusOK)
	json(anon, "GET", "/api/passkeys", "", http.StatusUnauthorized)
	json(anon, "POST", "/api/passkeys/register/begin", "", http.StatusUnauthorized)
	json(anon, "POST", "/api/logout", "", http.StatusUnauthorized)

	c := client()
	ts.login(t, c, alice, alicePw)
	json(c, "GET", "/api/session", "", http.StatusOK)
	a := passkeytest.New(ts.passkeyOrigin, passkeytest.Options{})
	p := ts.registerPasskey(t, c, a, "Laptop")
	json(c, "GET", "/api/passkeys", "", http.StatusOK)
	json(c, "GET", "/api/passkeys?page=x", "", http.StatusBadRequest)
	json(c, "GET", "/api/passkeys/"+p.ID, "", http.StatusOK)
	json(c, "GET", "/api/passkeys/no-such-id", "", http.StatusNotFound)
	json(c, "PATCH", "/api/passkeys/"+p.ID, `{"name":"Phone"}`, http.StatusOK)
	json(c, "PATCH", "/api/passkeys/"+p.ID, `{"nickname":"x"}`, http.StatusBadRequest)
	json(c, "DELETE", "/api/passkeys/"+p.ID, "", http.StatusConflict)
	json(c, "POST", "/api/passkeys/register/finish", `{}`, http.StatusBadRequest)

	// A passkey login, and its refusals.
	b := client()
	opts := json(b, "POST", "/api/login/begin", "", http.StatusOK)
	resp, err := a.Login([]byte(opts))
	if err != nil {
		t.Fatal(err)
	}
	json(b, "POST", "/api/login/finish", `{"id":"x"}`, http.StatusUnauthorized)
	json(b, "POST", "/api/login/finish", string(resp), http.StatusOK)
	json(b, "POST", "/api/login/finish", string(resp), http.StatusUnauthorized)
	json(b, "POST", "/api/login/begin", "", http.StatusOK) // a re-authentication
	json(b, "POST", "/api/logout", "", http.StatusNoContent)

	// Disabled, then deleted.
	json(c, "PATCH", "/api/passkeys/"+p.ID, `{"enabled":false}`, http.StatusOK)
	json(c, "DELETE", "/api/passkeys/"+p.ID, "", http.StatusNoContent)

	for _, want := range []string{
		"POST /api/login/finish 200", "POST /api/login/finish 401", "POST /api/passkeys/register/finish 201",
		"PATCH /api/passkeys/" + p.ID + " 400", "DELETE /api/passkeys/" + p.ID + " 409",
	} {
		if !vt.seen[want] {
			t.Errorf("the flows never made %s: the test no longer covers it", want)
		}
	}
}
