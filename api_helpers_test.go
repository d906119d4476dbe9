package passkeyd_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// User-Agents of the platforms of SPEC §3.
const (
	uaIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	uaWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	uaAndroid = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)

// gpmAAGUID is Google Password Manager's AAGUID.
const gpmAAGUID = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// randomB64 returns n random bytes, base64url encoded.
func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}

func mustAAGUID(s string) [16]byte { return [16]byte(uuid.MustParse(s)) }

// setPath returns the JSON object doc with the member at path (object
// keys, outermost first) set to v; a json.RawMessage is set verbatim.
func setPath(t testing.TB, doc []byte, v any, path ...string) []byte {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(doc, &root); err != nil {
		t.Fatal(err)
	}
	m := root
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("no object at %q in %s", k, doc)
		}
		m = next
	}
	m[path[len(path)-1]] = v
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// getPath returns the string member at path of the JSON object doc.
func getPath(t testing.TB, doc []byte, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no object at %q in %s", k, doc)
		}
		v = m[k]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v in %s is not a string", path, doc)
	}
	return s
}

// creationOptions is the register/begin answer.
type creationOptions struct {
	PublicKey struct {
		RP struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"user"`
		Challenge        string `json:"challenge"`
		PubKeyCredParams []struct {
			Type string `json:"type"`
			Alg  int    `json:"alg"`
		} `json:"pubKeyCredParams"`
		Timeout            *int64 `json:"timeout"`
		ExcludeCredentials []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"excludeCredentials"`
		AuthenticatorSelection struct {
			AuthenticatorAttachment string `json:"authenticatorAttachment"`
			ResidentKey             string `json:"residentKey"`
			RequireResidentKey      *bool  `json:"requireResidentKey"`
			UserVerification        string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Attestation string `json:"attestation"`
	} `json:"publicKey"`
}

// requestOptions is the login/begin answer.
type requestOptions struct {
	PublicKey struct {
		Challenge        string `json:"challenge"`
		Timeout          *int64 `json:"timeout"`
		RPID             string `json:"rpId"`
		AllowCredentials *[]any `json:"allowCredentials"`
		UserVerification string `json:"userVerification"`
	} `json:"publicKey"`
}

// allowedIDs returns the ids in a login/begin answer's allowCredentials.
func allowedIDs(t testing.TB, opts []byte) []string {
	t.Helper()
	var o struct {
		PublicKey struct {
			AllowCredentials []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, d := range o.PublicKey.AllowCredentials {
		if d.Type != "public-key" {
			t.Errorf("allowCredentials entry of type %q", d.Type)
		}
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	return ids
}

// credIDs returns the base64url ids of the authenticators' credentials,
// sorted.
func credIDs(as ...*passkeytest.Authenticator) []string {
	ids := []string{}
	for _, a := range as {
		for _, c := range a.Credentials() {
			ids = append(ids, b64(c.ID))
		}
	}
	slices.Sort(ids)
	return ids
}

// lastCredID returns the id of the newest credential a holds.
func lastCredID(t testing.TB, a *passkeytest.Authenticator) []byte {
	t.Helper()
	cs := a.Credentials()
	if len(cs) == 0 {
		t.Fatal("authenticator holds no credential")
	}
	return cs[len(cs)-1].ID
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkPasskeyJSON checks that b is {"passkey": Passkey} with every field
// of SPEC §3's Passkey and no other, each of the right JSON type, and
// returns it decoded.
func checkPasskeyJSON(t testing.TB, b []byte) passkeyd.PasskeyInfo {
	t.Helper()
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(b, &outer); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	if len(outer) != 1 || outer["passkey"] == nil {
		t.Fatalf("answer %s, want exactly {\"passkey\": ...}", b)
	}
	checkPasskeyObject(t, outer["passkey"])
	return decodePasskey(t, b)
}

// checkPasskeyObject checks one Passkey object's fields and their types.
func checkPasskeyObject(t testing.TB, raw json.RawMessage) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"id": "uuid", "name": "string", "platform": "string", "provider": "string",
		"aaguid": "uuid", "enabled": "bool", "created_at": "time", "last_used_at": "time|null",
		"backup_eligible": "bool", "backed_up": "bool", "transports": "[]string",
		"sign_count": "int", "clone_warning": "bool",
	}
	for k := range m {
		if _, ok := want[k]; !ok {
			t.Errorf("Passkey has field %q, not in SPEC", k)
		}
	}
	for k, typ := range want {
		v, ok := m[k]
		if !ok {
			t.Errorf("Passkey lacks field %q: %s", k, raw)
			continue
		}
		bad := false
		switch typ {
		case "uuid":
			s, ok := v.(string)
			bad = !ok || !uuidRE.MatchString(s)
		case "string":
			_, ok := v.(string)
			bad = !ok
		case "bool":
			_, ok := v.(bool)
			bad = !ok
		case "time", "time|null":
			if v == nil {
				bad = typ == "time"
				break
			}
			s, ok := v.(string)
			if !ok {
				bad = true
				break
			}
			_, err := time.Parse(time.RFC3339, s)
			bad = err != nil
		case "[]string":
			l, ok := v.([]any)
			bad = !ok
			for _, e := range l {
				if _, ok := e.(string); !ok {
					bad = true
				}
			}
		case "int":
			f, ok := v.(float64)
			bad = !ok || f != float64(int64(f)) || f < 0
		}
		if bad {
			t.Errorf("Passkey field %q = %#v, want %s", k, v, typ)
		}
	}
}

// withCredentialID rewrites a registration response with "none"
// attestation (which nothing signs) so that it claims credential id id:
// in id, rawId, the attested credential data of the attestation object and
// the authenticatorData beside it. It is what a client that copied another
// passkey's credential id would send.
func withCredentialID(t testing.TB, resp, id []byte) []byte {
	t.Helper()
	resp = withAuthData(t, resp, func(ad []byte) []byte {
		// rpIdHash (32) | flags | signCount (4) | AAGUID (16) | L (2) | id (L) | key
		l := int(binary.BigEndian.Uint16(ad[53:55]))
		out := append([]byte{}, ad[:53]...)
		out = binary.BigEndian.AppendUint16(out, uint16(len(id)))
		out = append(out, id...)
		return append(out, ad[55+l:]...)
	})
	resp = setPath(t, resp, b64(id), "id")
	return setPath(t, resp, b64(id), "rawId")
}

// withCOSEKey rewrites a registration response with "none" attestation
// so that its credential's public key is key (a COSE_Key), as a client
// that sends any key it likes would.
func withCOSEKey(t testing.TB, resp []byte, key map[int]any) []byte {
	t.Helper()
	enc, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := enc.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	return withAuthData(t, resp, func(ad []byte) []byte {
		start := 55 + int(binary.BigEndian.Uint16(ad[53:55]))
		var old cbor.RawMessage
		rest, err := cbor.UnmarshalFirst(ad[start:], &old)
		if err != nil {
			t.Fatal(err)
		}
		out := append([]byte{}, ad[:start]...)
		out = append(out, newKey...)
		return append(out, rest...)
	})
}

// withAuthData rewrites the authenticator data of a registration response
// with "none" attestation (which nothing signs) by edit: in the
// attestation object and in the authenticatorData beside it.
func withAuthData(t testing.TB, resp []byte, edit func(ad []byte) []byte) []byte {
	t.Helper()
	var obj struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}
	attObj, err := base64.RawURLEncoding.DecodeString(getPath(t, resp, "response", "attestationObject"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cbor.Unmarshal(attObj, &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Fmt != "none" {
		t.Fatalf("the response's attestation is %q: only none can be rewritten", obj.Fmt)
	}
	obj.AuthData = edit(obj.AuthData)
	em, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	if attObj, err = em.Marshal(obj); err != nil {
		t.Fatal(err)
	}
	resp = setPath(t, resp, b64(attObj), "response", "attestationObject")
	return setPath(t, resp, b64(obj.AuthData), "response", "authenticatorData")
}

// world is one harness with a logged-in client, for tables whose cases
// each make their own users and passkeys.
type world struct {
	h     *harness
	clock *clock
}

func newWorld(t testing.TB, o harnessOptions) *world {
	t.Helper()
	c := newClock()
	o.now = c.Now
	return &world{h: newHarness(t, o), clock: c}
}

// userClient makes a user with the password "pw" (so that disabling
// their last passkey leaves them a way in) and a client logged in as
// them.
func (w *world) userClient(t testing.TB, name string) (*passkeyd.User, *client) {
	t.Helper()
	u := w.h.user(t, name)
	w.h.setPassword(t, u, "pw")
	c := w.h.client()
	c.logInAs(t, u)
	return u, c
}

var userSeq atomic.Int64

// uniqueName returns a username not used before in this test binary.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, userSeq.Add(1))
}
