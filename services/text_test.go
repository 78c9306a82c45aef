package services_test

import (
	"testing"

	"github.com/trivium-game/trivium/services"
)

func TestCleanTextRemovesInvisibleAndReorderingCharacters(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "  Hello, world  ", "Hello, world"},
		{"accents and emoji stay", "Zoë ☕ 日本", "Zoë ☕ 日本"},
		{"NUL", "a\x00b", "ab"},
		{"ESC sequence loses its ESC", "red\x1b[31m!", "red[31m!"},
		{"DEL", "a\x7fb", "ab"},
		{"C1 control", "a\u0085b\u009bc", "abc"},
		{"tab and newline stay", "line 1\n\tline 2", "line 1\n\tline 2"},
		{"CRLF becomes LF", "a\r\nb\rc", "a\nb\nc"},
		{"right-to-left override", "abc\u202Egnp.exe", "abcgnp.exe"},
		{"every embedding and isolate", "\u202Aa\u202Bb\u202Cc\u202Dd\u2066e\u2067f\u2068g\u2069", "abcdefg"},
		{"zero width space", "ad\u200Bmin", "admin"},
		{"word joiner and BOM", "\uFEFFad\u2060min", "admin"},
		{"soft hyphen", "ad\u00ADmin", "admin"},
		{"tag characters", "hi\U000E0041\U000E0042\U000E007F", "hi"},
		{"ZWJ between ASCII letters spoofs", "ad\u200Dmin", "admin"},
		{"ZWNJ at the edge", "\u200Cadmin\u200C", "admin"},
		{"ZWJ inside an emoji sequence stays", "👩\u200D💻", "👩\u200D💻"},
		{"ZWNJ inside a Persian word stays", "می\u200Cخواهم", "می\u200Cخواهم"},
		{"invalid UTF-8 is left for the caller to refuse", "a\xff\u202Eb", "a\xffb"},
		{"only invisible", "\u200B\u202E", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := services.CleanText(c.in); got != c.want {
				t.Errorf("CleanText(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestTruncateCutsOnARuneBoundary(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"crème", 3, "cr"},  // è is two bytes: never half of it
		{"crème", 4, "crè"}, // both of them fit
		{"日本語", 5, "日"},     // three-byte runes
		{"🙂x", 3, ""},       // a four-byte rune does not fit in three
		{"abc", 0, ""},
	} {
		if got := services.Truncate(c.in, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
