package locale_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/passkeyd/passkeyd/locale"
)

// The places the product says things, from this package's directory.
var (
	goDirs       = []string{"..", "../internal/site", "."}
	templateGlob = "../internal/site/templates/*.html"
	scriptGlobs  = []string{"../static/*.js", "../internal/site/static/*.js"}
)

var (
	templateText = regexp.MustCompile(`\{\{-?\s*(?:t|th)\s+("(?:[^"\\]|\\.)*")`)
	scriptText   = regexp.MustCompile(`\bt\('((?:[^'\\]|\\.)*)'`)
	placeholder  = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)
)

// usedTexts finds every English text the product says: msg("…") and
// NewError(code, "…") in Go, {{t "…"}} and {{th "…"}} in templates,
// t('…') in scripts.
func usedTexts(t *testing.T) map[string]string {
	t.Helper()
	used := map[string]string{}
	for _, dir := range goDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				arg := -1
				switch fn := call.Fun.(type) {
				case *ast.Ident:
					switch fn.Name {
					case "msg":
						arg = 0
					case "NewError":
						arg = 1
					}
				case *ast.SelectorExpr:
					if fn.Sel.Name == "NewError" {
						arg = 1
					}
				}
				if arg < 0 || len(call.Args) <= arg {
					return true
				}
				lit, ok := call.Args[arg].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				if s, err := strconv.Unquote(lit.Value); err == nil && s != "" {
					used[s] = fset.Position(lit.Pos()).String()
				}
				return true
			})
		}
	}
	templates, err := filepath.Glob(templateGlob)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range templates {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range templateText.FindAllSubmatch(b, -1) {
			s, err := strconv.Unquote(string(m[1]))
			if err != nil {
				t.Fatalf("%s: %s: %v", name, m[1], err)
			}
			used[s] = name
		}
	}
	for _, glob := range scriptGlobs {
		scripts, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range scripts {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range scriptText.FindAllSubmatch(b, -1) {
				s := strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(string(m[1]))
				used[s] = name
			}
		}
	}
	return used
}

// Every language translates exactly the texts the product says, with the
// same {{.Fields}}.
func TestEveryTextTranslated(t *testing.T) {
	c, err := locale.New("")
	if err != nil {
		t.Fatal(err)
	}
	used := usedTexts(t)
	if len(used) < 100 {
		t.Fatalf("found only %d texts: the search is broken", len(used))
	}
	for _, lang := range c.Languages()[1:] {
		have := c.Translations(lang)
		for id := range have {
			if _, ok := used[id]; !ok {
				t.Errorf("%s.toml translates a text nobody says: %q", lang, id)
			}
		}
		var missing []string
		for id, where := range used {
			tr, ok := have[id]
			if !ok {
				missing = append(missing, where+": "+strconv.Quote(id))
				continue
			}
			want, got := fields(id), fields(tr)
			if !slices.Equal(want, got) {
				t.Errorf("%s.toml: %q fills in %v, want %v", lang, id, got, want)
			}
		}
		slices.Sort(missing)
		for _, m := range missing {
			t.Errorf("%s.toml has no translation of %s", lang, m)
		}
	}
}

// fields are the {{.Fields}} of a text, sorted.
func fields(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}
