package site_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/site"
	"github.com/passkeyd/passkeyd/locale"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// englishWord is a run of Latin letters: in a Japanese page, a sign of a
// text nobody translated, unless it is a name.
var englishWord = regexp.MustCompile(`[A-Za-z][A-Za-z'-]+`)

// notEnglish are the Latin words a Japanese page may show: the product's
// and the test's names, technical terms a Japanese user reads as they
// are, and the language switch's "English".
var notEnglish = map[string]bool{
	"passkeyd": true, "English": true, "PIN": true, "https": true, "UTC": true,
	"taro": true, "HeadlessChrome": true, "Chrome": true, "Go-http-client": true, "Linux": true,
}

// providerName is the test passkey's provider, a name shown as it is.
const providerName = "Google Password Manager"

// visibleTexts are a page's texts a person sees or hears: text outside
// scripts and styles, and the title, placeholder, aria-label and alt
// attributes.
func visibleTexts(t *testing.T, page string) []string {
	t.Helper()
	var out []string
	z := html.NewTokenizer(strings.NewReader(page))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.TextToken:
			if skip == 0 {
				if s := strings.TrimSpace(string(z.Text())); s != "" {
					out = append(out, s)
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) == "script" || string(name) == "style" {
				skip++
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "title", "placeholder", "aria-label", "alt":
					out = append(out, string(v))
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "script" || string(name) == "style" {
				skip--
			}
		}
	}
}

// Every page, in Japanese, says everything in Japanese: <html lang="ja">,
// no English left but names, and the scripts' texts carried in Japanese.
func TestPagesInJapanese(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{configure: func(c *passkeyd.Config, _ *site.Config) { c.SignUp = passkeyd.SignUpAny }})
	taro := ts.addUser(t, "taro", "correct horse battery")
	if err := ts.db.SetStaff(t.Context(), taro.ID, true); err != nil {
		t.Fatal(err)
	}
	c := ts.client(t)
	ts.login(t, c, "taro", "correct horse battery")
	a := passkeytest.New(ts.passkeyOrigin, passkeytest.Options{AAGUID: gpmAAGUID})
	ts.registerPasskey(t, c, a, "仕事用")
	anonymous := ts.client(t)
	ja := []string{"Accept-Language", "ja-JP,ja;q=0.9,en;q=0.5"}

	for _, tc := range []struct {
		name   string
		client *http.Client
		path   string
		status int
	}{
		{"home", anonymous, "/", http.StatusOK},
		{"home logged in", c, "/", http.StatusOK},
		{"login", anonymous, "/login", http.StatusOK},
		{"signup", anonymous, "/signup", http.StatusOK},
		{"passkeys", c, "/passkeys", http.StatusOK},
		{"sessions", c, "/sessions", http.StatusOK},
		{"activity", c, "/activity", http.StatusOK},
		{"recover", anonymous, "/recover/nonsense", http.StatusOK},
		{"not found", anonymous, "/nope", http.StatusNotFound},
		{"admin", c, "/admin/", http.StatusOK},
		{"admin search", c, "/admin/?q=%E8%AA%B0%E3%82%82", http.StatusOK},
		{"admin user", c, "/admin/users/" + taro.ID, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.get(t, tc.client, tc.path, ja...)
			if r.StatusCode != tc.status {
				t.Fatalf("%d, want %d", r.StatusCode, tc.status)
			}
			if !strings.Contains(r.body, `<html lang="ja">`) || r.Header.Get("Content-Language") != "ja" {
				t.Errorf("not marked Japanese: Content-Language %q", r.Header.Get("Content-Language"))
			}
			for _, text := range visibleTexts(t, r.body) {
				if testing.Verbose() {
					t.Log(text)
				}
				for _, w := range englishWord.FindAllString(strings.ReplaceAll(text, providerName, ""), -1) {
					if !notEnglish[w] {
						t.Errorf("untranslated %q in %q", w, text)
						break
					}
				}
			}
			metas := find(r.body, "meta", "name", "passkeyd-messages")
			var scripts map[string]string
			if len(metas) != 1 || json.Unmarshal([]byte(metas[0].attrs["content"]), &scripts) != nil {
				t.Fatalf("no script messages: %+v", metas)
			}
			if got := scripts["This browser does not support passkeys."]; got != "このブラウザはパスキーに対応していません。" {
				t.Errorf("scripts' message in Japanese: %q", got)
			}
		})
	}
}

// The language comes from the cookie before Accept-Language, a person
// switches it with POST /lang, and JSON errors follow it too.
func TestLanguageChoice(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	c := ts.client(t)
	if r := ts.get(t, c, "/login", "Accept-Language", "ja"); !strings.Contains(r.body, `<html lang="ja">`) {
		t.Error("Accept-Language ja did not give Japanese")
	}
	r := ts.postForm(t, c, "/lang", "lang=en&return_to=%2Flogin%3Fnext%3D%2Fpasskeys", "Accept-Language", "ja")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=/passkeys" {
		t.Fatalf("switch: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := ts.get(t, c, "/login", "Accept-Language", "ja"); !strings.Contains(r.body, `<html lang="en">`) {
		t.Error("the cookie did not win over Accept-Language")
	}
	// JSON errors speak the request's language.
	for _, tc := range []struct{ lang, want string }{
		{"ja", "先にログインしてください。"},
		{"en", "You need to log in first."},
		{"fr", "You need to log in first."},
	} {
		r := ts.get(t, ts.client(t), "/api/passkeys", "Accept-Language", tc.lang)
		var e struct{ Error, Message string }
		if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error != "not_logged_in" || e.Message != tc.want {
			t.Errorf("Accept-Language %s: %s, want message %q", tc.lang, r.body, tc.want)
		}
	}
	for _, tc := range []struct{ name, form string }{
		{"unknown language", "lang=xx&return_to=%2F"},
		{"no language", "return_to=%2F"},
		{"a field twice", "lang=ja&lang=en"},
	} {
		if r := ts.postForm(t, ts.client(t), "/lang", tc.form); r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.name, r.StatusCode)
		}
	}
	// An off-site return goes home instead.
	if r := ts.postForm(t, ts.client(t), "/lang", "lang=ja&return_to=%2F%2Fevil.example"); r.Header.Get("Location") != "/" {
		t.Errorf("off-site return_to: to %q, want /", r.Header.Get("Location"))
	}
	_ = locale.CookieName
}
