package site

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/locale"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// views holds the parsed templates, one set for each language, and the
// static files with their content hashes.
type views struct {
	// pages are the templates by language tag, then by name.
	pages  map[string]map[string]*template.Template
	files  fs.FS
	hashes map[string]string
	// languages are the catalog's, for every page's switch.
	languages []string
	// scriptMessages are, by language tag, the translations of the texts
	// the scripts say: a JSON object of English to translation, which
	// each page carries (meta passkeyd-messages).
	scriptMessages map[string]string
}

// pageNames are the templates that render a whole page inside the layout.
var pageNames = []string{"home", "login", "passkeys", "error", "activity", "signup", "sessions", "recover", "admin_users", "admin_user"}

func newViews(messages *locale.Catalog) (*views, error) {
	own, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	files := overlayFS{own, passkeyd.StaticFS()}
	v := &views{pages: map[string]map[string]*template.Template{}, files: files, hashes: map[string]string{}, scriptMessages: map[string]string{}}
	var scriptTexts []string
	for _, layer := range files {
		err := fs.WalkDir(layer, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if _, shadowed := v.hashes[path]; shadowed {
				return nil
			}
			b, err := fs.ReadFile(layer, path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			v.hashes[path] = hex.EncodeToString(sum[:6])
			if strings.HasSuffix(path, ".js") && !strings.HasPrefix(path, "vendor/") {
				for _, m := range scriptText.FindAllSubmatch(b, -1) {
					scriptTexts = append(scriptTexts, unescapeJS(string(m[1])))
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("hash static files: %w", err)
		}
	}
	icons, err := loadIcons(own)
	if err != nil {
		return nil, err
	}
	v.languages = messages.Languages()
	for _, lang := range v.languages {
		translations := messages.Translations(lang)
		scripts := map[string]string{}
		for _, t := range scriptTexts {
			if tr, ok := translations[t]; ok {
				scripts[t] = tr
			}
		}
		b, err := json.Marshal(scripts)
		if err != nil {
			return nil, fmt.Errorf("script messages: %w", err)
		}
		v.scriptMessages[lang] = string(b)
		funcs := textFuncs(messages.Localizer(lang))
		funcs["static"] = v.staticURL
		funcs["icon"] = icons.html
		funcs["platformIcon"] = icons.platform
		funcs["add"] = func(a, b int) int { return a + b }
		funcs["sub"] = func(a, b int) int { return a - b }
		v.pages[lang] = map[string]*template.Template{}
		for _, name := range pageNames {
			t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
			if err != nil {
				return nil, fmt.Errorf("parse template %s: %w", name, err)
			}
			v.pages[lang][name] = t
		}
	}
	return v, nil
}

// unescapeJS reads a single-quoted JavaScript string's escapes (\' and
// \\), the only ones the scripts' texts use.
func unescapeJS(s string) string {
	return strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(s)
}

// staticURL names a static file with its content hash, so that it can be
// cached for a year and still change the moment the file does.
func (v *views) staticURL(path string) (string, error) {
	h, ok := v.hashes[path]
	if !ok {
		return "", fmt.Errorf("no static file %q", path)
	}
	return "/static/" + path + "?v=" + h, nil
}

// static serves the embedded static files.
func (v *views) static() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(v.files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path[len("/static/"):]
		if h, ok := v.hashes[path]; ok && r.URL.Query().Get("v") == h {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	// Title is in English; the layout translates it.
	Title string
	// Path is the page's own path, for the language switch to come back
	// to; Languages are the languages it offers.
	Path      string
	Languages []string
	// ScriptMessages are the scripts' texts in the page's language, a
	// JSON object of English to translation (meta passkeyd-messages).
	ScriptMessages string
	Login          *loginView
	Error          string
	Scripts        []string
	// Flash is a one-time message from the previous request.
	Flash string
	// ReauthAsk opens the step-up dialog on load: a form was refused for
	// want of a recent login. ReauthRetry is the form action to post
	// again once the person has confirmed ("" when the form had fields
	// the person sends again themselves).
	ReauthAsk   bool
	ReauthRetry string
	// SignUpPasskey and SignUpPassword say which sign-ups the site takes
	// (the sign-up page; the login page links to it when either).
	SignUpPasskey, SignUpPassword bool
	// DisplayName is the sign-up form's.
	DisplayName string
	// Signal has the page tell the browser's Signal API the user's
	// accepted passkeys and names (signal.js).
	Signal bool
	// OfferPasskey has the first page after a password login offer a
	// passkey without asking (conditional create).
	OfferPasskey bool
	// UnknownCredential is the credential id of a passkey login the site
	// did not know; RPID is the site's RP id. The login page signals it
	// (signalUnknownCredential).
	UnknownCredential, RPID string
	// StepUp puts the step-up dialog on the page (with reauth.js).
	StepUp bool
	// Login page.
	Next     string
	Username string
	// Passkey page.
	Passkeys []passkeyView
	// A list's page and how many there are; PageURL is a page's URL but
	// for its number.
	Page    int
	Pages   int
	PageURL string
	// Sessions page.
	Sessions []passkeyd.SessionInfo
	// CodesLeft is how many recovery codes the user has left; NewCodes
	// are the codes just made, shown this once.
	CodesLeft int
	NewCodes  []string
	// SyncStarted are the ids of the passkeys that became synced
	// (backup eligible) after they were made: the owner is told.
	SyncStarted map[string]bool
	// Activity page, and the admin's user page.
	Activity []activityView
	// Admin: the users listed and the search; the user shown, and whether
	// it is the staff member.
	AdminUsers []passkeyd.AdminUser
	Query      string
	AdminUser  *passkeyd.AdminUser
	Self       bool
}

// passkeyView is a passkey as its page shows it: the JSON API's view,
// and where it lives.
type passkeyView struct {
	passkeyd.PasskeyInfo
	// Attachment is "platform" (built into a device), "cross-platform"
	// (a security key or a phone), or "" when unknown.
	Attachment string
}

// loginView is who is logged in and how, for #login-state.
type loginView struct {
	Username string
	// Staff sees the admin's link.
	Staff       bool
	DisplayName string
	// PasskeyID is the passkey this session logged in with: "this
	// device" on the passkey page.
	PasskeyID     string
	Auth          passkeyd.Auth
	PasskeyName   string
	Platform      string
	CrossPlatform bool
	Provider      string
	At            time.Time
}

// render writes a page. Templates are executed into a buffer first, so a
// template error becomes a clean 500 rather than half a page.
func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if p.Login == nil {
		p.Login = s.loginView(r)
	}
	s.withSignal(w, r, &p)
	l := s.deps.Passkeys.Localizer(r)
	p.Path = r.URL.RequestURI()
	p.Languages = s.views.languages
	p.ScriptMessages = s.views.scriptMessages[l.Lang()]
	var buf bytes.Buffer
	if err := s.views.pages[l.Lang()][name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l.Lang())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// loginView returns who is logged in, or nil (also when the session store
// cannot be asked: a page about something else still renders).
func (s *Site) loginView(r *http.Request) *loginView {
	u, sess, err := s.deps.Passkeys.CurrentUser(r)
	if err != nil {
		return nil
	}
	return newLoginView(u, sess)
}

// newLoginView describes a login for #login-state.
func newLoginView(u *passkeyd.User, sess *passkeyd.Session) *loginView {
	v := &loginView{Staff: u.Staff, Username: u.Username, DisplayName: u.DisplayName, Auth: sess.Auth, Provider: sess.Provider, At: sess.CreatedAt}
	if sess.Auth.Name != nil {
		v.PasskeyName = *sess.Auth.Name
	}
	v.PasskeyID = sess.PasskeyID
	if sess.Auth.Platform != nil {
		v.Platform = *sess.Auth.Platform
	}
	if sess.Auth.CrossPlatform != nil {
		v.CrossPlatform = *sess.Auth.CrossPlatform
	}
	return v
}

// overlayFS serves the site's own static files and, beside them, the
// passkeyd package's passkey.js.
type overlayFS []fs.FS

func (o overlayFS) Open(name string) (fs.File, error) {
	for _, f := range o {
		if file, err := f.Open(name); err == nil {
			return file, nil
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// icons are the vendored Bootstrap Icons, by name, ready to inline.
type icons map[string]template.HTML

// iconNames are the icons the pages show.
var iconNames = []string{"key", "apple", "google", "microsoft", "amazon", "question-circle"}

// loadIcons reads the icons from the static files, hidden from screen
// readers: the text beside each says the same.
func loadIcons(files fs.FS) (icons, error) {
	out := icons{}
	for _, name := range iconNames {
		b, err := fs.ReadFile(files, "vendor/bootstrap-icons/"+name+".svg")
		if err != nil {
			return nil, fmt.Errorf("icon %s: %w", name, err)
		}
		svg := strings.Replace(strings.TrimSpace(string(b)), "<svg ", `<svg aria-hidden="true" focusable="false" `, 1)
		out[name] = template.HTML(svg) //nolint:gosec // our own vendored file
	}
	return out, nil
}

// html returns the icon name, inline.
func (ic icons) html(name string) (template.HTML, error) {
	svg, ok := ic[name]
	if !ok {
		return "", fmt.Errorf("no icon %q", name)
	}
	return svg, nil
}

// platform returns the icon of a passkey's platform (Apple, Google,
// Microsoft, Amazon), or a question mark for an unknown one.
func (ic icons) platform(name string) template.HTML {
	if svg, ok := ic[strings.ToLower(name)]; ok {
		return svg
	}
	return ic["question-circle"]
}
