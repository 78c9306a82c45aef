package textscreen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/moderation/textscreen"
)

func TestNormalizeFoldsDisguises(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hello World", "hello world"},
		{"  HELLO,   world!!  ", "hello world"},
		{"Crème brûlée", "creme brulee"},
		{"ÀÉÎÕÜ ñ ç", "aeiou nc"},
		{"ｆｕｌｌｗｉｄｔｈ", "fullwidth"},     // compatibility forms
		{"𝐛𝐨𝐥𝐝 𝓈𝒸𝓇𝒾𝓅𝓉", "bold script"}, // mathematical alphanumerics
		{"ﬁne ﬂag", "fine flag"},       // ligatures
		{"раураl", "paypal"},           // Cyrillic р а у а
		{"ѕһіt", "shit"},               // Cyrillic ѕ һ і
		{"ΑΒΕ κορ", "abe kop"},         // Greek capitals and small letters
		{"sh1t", "shit"},
		{"5h17", "shit"},
		{"f4g", "fag"},
		{"n00b", "noob"},
		{"100 points", "100 points"}, // a number alone is a number
		{"top 10", "top 10"},
		{"sh!t", "shit"},
		{"@ss", "ass"},
		{"a$$", "ass"},
		{"b!tch", "bitch"},
		{"wow!", "wow"},
		{"fuck!!", "fuck"},
		{"me@home", "meahome"},
		{"f u c k", "fuck"},
		{"f.u.c.k", "fuck"},
		{"f-u-c-k you", "fuck you"},
		{"f_u_c_k", "fuck"},
		{"s  h  i  t", "shit"},
		{"I am a b c", "i am abc"},
		{"a fine day", "a fine day"}, // one single letter stays a word
		{"fu\u200bck", "fuck"},       // zero width space
		{"fu\u00adck", "fuck"},       // soft hyphen
		{"ki\u0301ll", "kill"},       // combining acute
		{"tab\tand\nnewline", "tab and newline"},
		{"", ""},
		{"!!!", ""},
		{"日本語 テキスト", "日本語 テキスト"},
		{"discord.gg/abc", "discord gg abc"},
	} {
		if got := textscreen.Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDefaultListRefusesSlursAndFlagsCrudeWordsInAnyDisguise(t *testing.T) {
	s := textscreen.Default()
	for _, tc := range []struct {
		text string
		want textscreen.Action // "" means the text passes
	}{
		{"What is the capital of France?", ""},
		{"Scunthorpe United", ""}, // whole words only
		{"cocktail recipes", ""},
		{"Dickens wrote Oliver Twist", ""},
		{"shitake mushrooms", ""},
		{"assassin", ""},
		{"class assignment", ""},
		{"the spice must flow", ""},
		{"fuck", textscreen.Flag},
		{"FUCK", textscreen.Flag},
		{"Fùck this", textscreen.Flag},
		{"fuuuuuck", textscreen.Flag},
		{"ffffuck", textscreen.Flag},
		{"f u c k", textscreen.Flag},
		{"f.u.c.k.", textscreen.Flag},
		{"f*u*c*k", textscreen.Flag},
		{"ｆｕｃｋ", textscreen.Flag},
		{"fu\u200dck", textscreen.Flag},
		{"sh1t", textscreen.Flag},
		{"$h!t", textscreen.Flag},
		{"ѕһіt", textscreen.Flag},
		{"b!tch", textscreen.Flag},
		{"what the fuck!", textscreen.Flag},
		{"join discord.gg/xyz", textscreen.Flag},
		{"message me t.me/someone", textscreen.Flag},
		{"kill yourself", textscreen.Refuse},
		{"KILL   YOURSELF", textscreen.Refuse},
		{"k i l l yourself", textscreen.Refuse},
		{"kill\nyourself", textscreen.Refuse},
		{"k1ll y0urs3lf", textscreen.Refuse},
		{"kys", textscreen.Refuse},
		{"retard", textscreen.Refuse},
		{"r3t4rd", textscreen.Refuse},
		{"RÉTÄRD", textscreen.Refuse},
		{"heil hitler", textscreen.Refuse},
		{"gas the jews", textscreen.Refuse},
		{"fuck you, retard", textscreen.Refuse}, // refuse wins over flag
	} {
		h, ok := s.Check(tc.text)
		switch {
		case tc.want == "" && ok:
			t.Errorf("%q: hit %+v, want a pass", tc.text, h)
		case tc.want != "" && !ok:
			t.Errorf("%q: passed, want %s", tc.text, tc.want)
		case ok && h.Action != tc.want:
			t.Errorf("%q: %s (%s), want %s", tc.text, h.Action, h.Rule, tc.want)
		}
		if ok && !strings.HasPrefix(h.Source, "default.txt:") {
			t.Errorf("%q: source %q", tc.text, h.Source)
		}
	}
}

func TestOperatorFileAddsRulesToTheDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "words.txt")
	list := "# house rules\n\nrefuse badword\nflag /\\bbuy (gold|coins)\\b/\nflag Pokémon cards\n"
	if err := os.WriteFile(path, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := textscreen.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rules() <= textscreen.Default().Rules() {
		t.Fatalf("rules %d: the operator's were not added", s.Rules())
	}
	for text, want := range map[string]textscreen.Action{
		"B-A-D-W-O-R-D":      textscreen.Refuse,
		"b4dw0rd":            textscreen.Refuse,
		"buy gold here":      textscreen.Flag,
		"BUY COINS!!":        textscreen.Flag,
		"pokemon cards":      textscreen.Flag,
		"POKÉMON   CARDS":    textscreen.Flag,
		"fuck":               textscreen.Flag, // the default still applies
		"badwords are fine?": "",
	} {
		h, ok := s.Check(text)
		if got := h.Action; !ok && want != "" || ok && got != want {
			t.Errorf("%q: %v %q, want %q", text, ok, got, want)
		}
		if ok && h.Action == textscreen.Refuse && h.Source != path+":3" {
			t.Errorf("%q: source %q, want %s:3", text, h.Source, path)
		}
	}
}

func TestBadListsAreRefusedWithTheLine(t *testing.T) {
	for list, want := range map[string]string{
		"block word\n":         "x.txt:1: action \"block\"",
		"refuse\n":             "x.txt:1: pattern must be",
		"\nflag /(unclosed/\n": "x.txt:2: pattern",
		"refuse !!!\n":         "has no letters",
		"flag " + strings.Repeat("a", textscreen.MaxPatternLen+1): "pattern must be",
	} {
		_, err := textscreen.Parse("x.txt", strings.NewReader(list))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", list, err, want)
		}
	}
	if _, err := textscreen.Load(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Fatal("a missing operator file must stop start-up")
	}
}

func TestFieldsNamesRefusedAndFlaggedFields(t *testing.T) {
	v := textscreen.Default().Fields([]textscreen.Field{
		{Name: "title", Text: "A fine quiz"},
		{Name: "description", Text: "k y s"},
		{Name: "questions[0].text", Text: "what the sh1t"},
		{Name: "questions[0].choices[1]", Text: "Paris"},
	})
	if len(v.Refused) != 1 || v.Refused["description"] == "" {
		t.Fatalf("refused %v", v.Refused)
	}
	if len(v.Flagged) != 1 || v.Flagged[0].Field != "questions[0].text" || v.Flagged[0].Rule != "shit" {
		t.Fatalf("flagged %+v", v.Flagged)
	}
	var none *textscreen.Screen
	if _, ok := none.Check("fuck"); ok {
		t.Fatal("a nil screen screens nothing")
	}
}
