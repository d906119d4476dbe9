package locale_test

import (
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/locale"
)

// Dates are written by each language's own layout, and a message's
// sentences joined as their script does.
func TestDatesAndSentences(t *testing.T) {
	c, err := locale.New("")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 10, 35, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang, date, dateTime, joined string
		sentences                    []string
	}{
		{"en", "5 Dec 2026", "5 Dec 2026 10:35", "One. Two.", []string{"One.", "Two."}},
		{"ja", "2026年12月5日", "2026年12月5日 10:35", "一つ。二つ。", []string{"一つ。", "二つ。"}},
	} {
		l := c.Localizer(tc.lang)
		if got := l.Date(at); got != tc.date {
			t.Errorf("%s Date = %q, want %q", tc.lang, got, tc.date)
		}
		if got := l.DateTime(at); got != tc.dateTime {
			t.Errorf("%s DateTime = %q, want %q", tc.lang, got, tc.dateTime)
		}
		if got := l.Join(tc.sentences); got != tc.joined {
			t.Errorf("%s Join = %q, want %q", tc.lang, got, tc.joined)
		}
	}
}
