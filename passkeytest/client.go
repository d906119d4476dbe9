package passkeytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"

	"github.com/passkeyd/passkeyd"
)

// Client is a browser using a passkeyd site's JSON API (docs/api.md):
// a cookie jar for the session and the pending ceremonies, and an
// Authenticator that answers the ceremonies. Tests of an app built on
// passkeyd drive it over real HTTP with it.
type Client struct {
	// BaseURL is the site, such as "https://localhost:8443"; request
	// paths are appended to it.
	BaseURL string
	// HTTP sends the requests. Its Jar keeps the session cookie; without
	// a Jar the client carries each ceremony in the Passkeyd-Ceremony
	// header, as an app without cookies does (and has no session).
	HTTP *http.Client
	// Authenticator answers registrations and logins.
	Authenticator *Authenticator
	// Header is added to every request (a User-Agent, say).
	Header http.Header

	ceremony string // the sealed state of the last ceremony begun
}

// NewClient returns a Client of the site at baseURL with a cookie jar of
// its own, sending with hc's transport (hc nil: http.DefaultTransport's).
// It does not follow redirects.
func NewClient(baseURL string, hc *http.Client, a *Authenticator) *Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: c, Authenticator: a}
}

// Response is an answer of the API, whatever its status.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// APIError is the API's JSON error answer: {"error", "message"} and its
// status.
type APIError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Do sends a request, with body as JSON when it is not nil, and returns
// the answer whatever its status.
func (c *Client) Do(ctx context.Context, method, path string, body []byte) (*Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.HTTP.Jar == nil && c.ceremony != "" && strings.HasSuffix(path, "/finish") {
		req.Header.Set(passkeyd.CeremonyHeader, c.ceremony)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if sealed := resp.Header.Get(passkeyd.CeremonyHeader); sealed != "" {
		c.ceremony = sealed
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Call sends a request with in as its JSON body (nil: none) and decodes a
// 2xx answer into out (nil: ignored). Any other status is an *APIError.
func (c *Client) Call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	switch v := in.(type) {
	case nil:
	case []byte:
		body = v
	default:
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	resp, err := c.Do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if resp.Status < 200 || resp.Status > 299 {
		e := &APIError{Status: resp.Status}
		if err := json.Unmarshal(resp.Body, e); err != nil || e.Code == "" {
			return fmt.Errorf("%s %s: %d with no JSON error: %q", method, path, resp.Status, resp.Body)
		}
		return e
	}
	if out == nil || len(resp.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("%s %s: the answer: %w", method, path, err)
	}
	return nil
}

// Register registers a passkey of the Authenticator for the logged-in
// user, named name ("" for the site's default), and returns it.
func (c *Client) Register(ctx context.Context, name string) (*passkeyd.PasskeyInfo, error) {
	resp, err := c.Do(ctx, "POST", "/api/passkeys/register/begin", nil)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("register begin: %d %s", resp.Status, resp.Body)
	}
	reg, err := c.Authenticator.Register(resp.Body)
	if err != nil {
		return nil, err
	}
	if name != "" {
		var m map[string]any
		if err := json.Unmarshal(reg, &m); err != nil {
			return nil, err
		}
		m["name"] = name
		if reg, err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	var out struct {
		Passkey passkeyd.PasskeyInfo `json:"passkey"`
	}
	if err := c.Call(ctx, "POST", "/api/passkeys/register/finish", reg, &out); err != nil {
		return nil, err
	}
	return &out.Passkey, nil
}

// Login is the answer to a login.
type Login struct {
	User passkeyd.UserInfo `json:"user"`
	Auth passkeyd.Auth     `json:"auth"`
}

// Login logs in with a passkey of the Authenticator: a discoverable
// login, or a re-authentication when the client is logged in.
func (c *Client) Login(ctx context.Context) (*Login, error) {
	resp, err := c.Do(ctx, "POST", "/api/login/begin", nil)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("login begin: %d %s", resp.Status, resp.Body)
	}
	assertion, err := c.Authenticator.Login(resp.Body)
	if err != nil {
		return nil, err
	}
	var out Login
	return &out, c.Call(ctx, "POST", "/api/login/finish", assertion, &out)
}

// PasswordLogin logs in with a username and a password.
func (c *Client) PasswordLogin(ctx context.Context, username, password string) (*Login, error) {
	var out Login
	in := map[string]string{"username": username, "password": password}
	return &out, c.Call(ctx, "POST", "/api/login/password", in, &out)
}

// Session returns who is logged in and how: nil, nil for nobody.
func (c *Client) Session(ctx context.Context) (*passkeyd.UserInfo, *passkeyd.Auth, error) {
	var out struct {
		User *passkeyd.UserInfo `json:"user"`
		Auth *passkeyd.Auth     `json:"auth"`
	}
	err := c.Call(ctx, "GET", "/api/session", nil, &out)
	return out.User, out.Auth, err
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context) error {
	return c.Call(ctx, "POST", "/api/logout", nil, nil)
}

// Passkeys returns the logged-in user's passkeys, the first page.
func (c *Client) Passkeys(ctx context.Context) ([]passkeyd.PasskeyInfo, error) {
	var out struct {
		Passkeys []passkeyd.PasskeyInfo `json:"passkeys"`
	}
	err := c.Call(ctx, "GET", "/api/passkeys", nil, &out)
	return out.Passkeys, err
}
