package site

import (
	"html/template"
	"net/http"
	"regexp"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/locale"
)

// msg marks an English text the site shows, for the catalog's tests to
// find; it returns the text, which the page translates when it shows it.
func msg(english string) string { return english }

// textFuncs are the template functions of one language:
//
//	{{t "Log in"}}
//	{{t "Passkey “{{.Name}}” added." "Name" .Name}}
//	{{th "Logged in as <strong>{{.User}}</strong>" "User" .Username}}
//
// t's answer is text, escaped where it is shown; th's is HTML made from
// the catalog's own markup and the escaped values. date and datetime
// write a time as the language does.
func textFuncs(l *locale.Localizer) template.FuncMap {
	return template.FuncMap{
		"t": func(english string, kv ...any) string { return l.T(english, pairs(kv, false)) },
		"th": func(english string, kv ...any) template.HTML {
			// The catalog's texts are ours; only the values come from
			// outside, and they are escaped.
			return template.HTML(l.T(english, pairs(kv, true))) //nolint:gosec
		},
		"date":     func(t time.Time) string { return l.Date(t) },
		"datetime": func(t time.Time) string { return l.DateTime(t) },
		"lang":     l.Lang,
		// Each language is named in itself, for the switch.
		"languageName": languageName,
	}
}

// languageName is a language's name in that language ("日本語").
func languageName(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return tag
	}
	return display.Self.Name(t)
}

// pairs makes template data of key-value pairs, HTML-escaping the values
// when asked.
func pairs(kv []any, escape bool) map[string]any {
	if len(kv) == 0 {
		return nil
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		key, _ := kv[i].(string)
		v := kv[i+1]
		if escape {
			if s, ok := v.(string); ok {
				v = template.HTMLEscapeString(s)
			}
		}
		m[key] = v
	}
	return m
}

// scriptText finds the texts the site's scripts say: PasskeyAPI.t('…').
var scriptText = regexp.MustCompile(`\bt\('((?:[^'\\]|\\.)*)'`)

// setLanguage keeps the language a person picked (POST /lang, fields
// lang and return_to) in the passkeyd_lang cookie for a year, and goes back
// to the page they were on.
func (s *Site) setLanguage(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(r, map[string]bool{"lang": true, "return_to": true})
	if err != nil {
		s.failPage(w, r, passkeyd.HTTPStatus(err), err)
		return
	}
	tag, ok := s.deps.Passkeys.Messages().Lookup(form.Get("lang"))
	if !ok {
		s.failPage(w, r, http.StatusBadRequest, errUnknownLanguage)
		return
	}
	next := form.Get("return_to")
	if !passkeyd.SafeRedirect(next) {
		next = "/"
	}
	http.SetCookie(w, &http.Cookie{
		Name: locale.CookieName, Value: tag.String(), Path: "/", MaxAge: 365 * 24 * 60 * 60,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, HttpOnly: true,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// errUnknownLanguage refuses a language the site does not speak.
var errUnknownLanguage = passkeyd.NewError("unknown_language", "This site does not speak that language.")
