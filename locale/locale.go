// Package locale holds passkeyd's messages in every language it speaks,
// and picks the language of each request.
//
// English is the source language: a message's id is its English text,
// as with Django's {% trans %} or gettext, so the code reads as it shows.
// Every other language is one TOML file beside this one, named by its
// BCP 47 tag (ja.toml), mapping each English text to its translation:
//
//	"Log in" = "ログイン"
//	"Passkey “{{.Name}}” added." = "パスキー「{{.Name}}」を追加しました。"
//
// Adding a language is adding its file: it is embedded and offered
// from the next build. The tests fail when a text the product shows has
// no translation in a file, or a file translates a text nobody shows.
package locale

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// CookieName is the cookie that keeps the language a person chose.
const CookieName = "passkeyd_lang"

//go:embed *.toml
var files embed.FS

// Catalog is every language's messages. It is safe for concurrent use.
type Catalog struct {
	bundle  *i18n.Bundle
	tags    []language.Tag // English first
	matcher language.Matcher
	forced  *language.Tag
	// texts are each language's translations by id, as its file has them.
	texts map[language.Tag]map[string]string
}

// New loads the embedded languages. forced, when not "", is the one
// language every request gets (passkeyd's --lang); else each request's
// comes from its cookie, then its Accept-Language.
func New(forced string) (*Catalog, error) {
	return load(files, forced)
}

func load(fsys fs.FS, forced string) (*Catalog, error) {
	c := &Catalog{
		bundle: i18n.NewBundle(language.English),
		tags:   []language.Tag{language.English},
		texts:  map[language.Tag]map[string]string{},
	}
	c.bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	names, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, fmt.Errorf("locale: %w", err)
	}
	for _, name := range names {
		mf, err := c.bundle.LoadMessageFileFS(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("locale: %s: %w", name, err)
		}
		tag := mf.Tag
		if tag == language.English || tag == language.Und {
			return nil, fmt.Errorf("locale: %s: English is the source language and needs no file", name)
		}
		texts := map[string]string{}
		for _, m := range mf.Messages {
			texts[m.ID] = m.Other
		}
		c.texts[tag] = texts
		c.tags = append(c.tags, tag)
	}
	c.matcher = language.NewMatcher(c.tags)
	if forced != "" {
		tag, ok := c.Lookup(forced)
		if !ok {
			return nil, fmt.Errorf("locale: no messages in %q: this build speaks %s", forced, strings.Join(c.Languages(), ", "))
		}
		c.forced = &tag
	}
	return c, nil
}

// Languages are the tags of the languages the catalog speaks, English
// first.
func (c *Catalog) Languages() []string {
	out := make([]string, len(c.tags))
	for i, t := range c.tags {
		out[i] = t.String()
	}
	return out
}

// Lookup returns the catalog's language named by s (a BCP 47 tag, such
// as "ja" or "ja-JP"), and whether it speaks one.
func (c *Catalog) Lookup(s string) (language.Tag, bool) {
	want, err := language.Parse(s)
	if err != nil {
		return language.Und, false
	}
	_, i, conf := c.matcher.Match(want)
	if conf < language.High {
		return language.Und, false
	}
	return c.tags[i], true
}

// Translations returns what a language's file has: each English text
// with its translation, as written (its {{.Fields}} not filled in).
func (c *Catalog) Translations(lang string) map[string]string {
	tag, ok := c.Lookup(lang)
	if !ok {
		return nil
	}
	return maps.Clone(c.texts[tag])
}

// ForRequest returns the Localizer of r's language: the forced one, else
// the cookie's, else the best match of Accept-Language, else English.
func (c *Catalog) ForRequest(r *http.Request) *Localizer {
	if c.forced != nil {
		return c.localizer(*c.forced)
	}
	if ck, err := r.Cookie(CookieName); err == nil {
		if tag, ok := c.Lookup(ck.Value); ok {
			return c.localizer(tag)
		}
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		prefs, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(prefs) > 0 {
			_, i, conf := c.matcher.Match(prefs...)
			if conf >= language.Low {
				return c.localizer(c.tags[i])
			}
		}
	}
	return c.localizer(language.English)
}

// Localizer returns the Localizer of lang, or of English when the
// catalog does not speak it.
func (c *Catalog) Localizer(lang string) *Localizer {
	tag, ok := c.Lookup(lang)
	if !ok {
		tag = language.English
	}
	return c.localizer(tag)
}

func (c *Catalog) localizer(tag language.Tag) *Localizer {
	return &Localizer{tag: tag, l: i18n.NewLocalizer(c.bundle, tag.String())}
}

// Localizer speaks one language.
type Localizer struct {
	tag language.Tag
	l   *i18n.Localizer
}

// Lang is the language's tag, for <html lang> and Content-Language.
func (l *Localizer) Lang() string { return l.tag.String() }

// T translates english, a message id, and fills in its {{.Field}}s from
// data (a map or struct). A text the language has no translation for
// stays English.
func (l *Localizer) T(english string, data any) string {
	if l == nil {
		return fill(english, data)
	}
	s, err := l.l.Localize(&i18n.LocalizeConfig{
		DefaultMessage: &i18n.Message{ID: english, Other: english},
		TemplateData:   data,
	})
	if err != nil {
		// Only a broken template in a translation gets here, which the
		// tests rule out; the English still says it.
		return fill(english, data)
	}
	return s
}

// English fills in english's {{.Field}}s from data, as T does for a
// language without the text.
func English(english string, data any) string { return fill(english, data) }

// Join joins the sentences of one message as their script does: with a
// space after a Latin full stop, without one after an ideographic one
// (。！？), as Japanese and Chinese write.
func (l *Localizer) Join(sentences []string) string {
	var b strings.Builder
	for i, s := range sentences {
		if i > 0 && !strings.HasSuffix(sentences[i-1], "。") && !strings.HasSuffix(sentences[i-1], "！") && !strings.HasSuffix(sentences[i-1], "？") {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// fill fills in english's {{.Field}}s without a catalog, as go-i18n
// does (a text/template).
func fill(english string, data any) string {
	if data == nil || !strings.Contains(english, "{{") {
		return english
	}
	t, err := template.New("").Parse(english)
	if err != nil {
		return english
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return english
	}
	return b.String()
}

// Date writes t's day as the language does: "5 Dec 2026" or
// "2026年12月5日". The layout (Go's, of 2 January 2006) is a text of the
// catalog like any other, so a language's file says how it writes dates.
func (l *Localizer) Date(t time.Time) string {
	return t.Format(l.T(msg("2 Jan 2006"), nil))
}

// DateTime writes t's day and minute as the language does:
// "5 Dec 2026 10:35" or "2026年12月5日 10:35".
func (l *Localizer) DateTime(t time.Time) string {
	return t.Format(l.T(msg("2 Jan 2006 15:04"), nil))
}

// msg marks an English text of this package, for the catalog's tests to
// find; it returns the text.
func msg(english string) string { return english }
