// Package textscreen screens the text players write (quiz text, display names, chat) against a
// word and regex list: the list shipped in default.txt plus an operator's file in the same
// format. Text and word rules are normalised alike first, so the usual disguises do not get
// through: case, accents and compatibility forms (ｆｕｃｋ, 𝐟𝐮𝐜𝐤), Cyrillic and Greek
// look-alike letters, leetspeak (sh1t, @ss, f4g), spaced or punctuated letters (f u c k, f.u.c.k),
// repeated letters (fuuuck) and invisible characters. Word rules match whole words only, so
// "Scunthorpe" and "cocktail" pass; list plural forms as words of their own.
package textscreen

import (
	"bufio"
	_ "embed" // the shipped list
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Action is what a rule does with text it matches.
type Action string

// Actions.
const (
	Refuse Action = "refuse" // the write is refused (422 naming the field)
	Flag   Action = "flag"   // the text is kept and a moderation case opened
)

// Limits of an operator's list.
const (
	MaxRules       = 10_000
	MaxPatternLen  = 500
	maxScreenRunes = 20_000 // longer texts are screened on their first maxScreenRunes runes
)

//go:embed default.txt
var defaultList string

// Rule is one line of a list.
type Rule struct {
	Action  Action
	Pattern string // as written: a word or phrase, or /regex/
	Source  string // "default.txt:12" or "FILE:3", for moderators and error messages
	re      *regexp.Regexp
}

// Hit is a rule that matched.
type Hit struct {
	Action Action `json:"action"`
	Rule   string `json:"rule"`
	Source string `json:"source"`
}

// Screen is a compiled list. The zero value and nil screen nothing.
type Screen struct {
	rules []Rule
}

// Default returns the shipped list.
func Default() *Screen {
	rules, err := Parse("default.txt", strings.NewReader(defaultList))
	if err != nil {
		panic(err) // the shipped list is tested; a broken one is a build mistake
	}
	return &Screen{rules: rules}
}

// Load returns the shipped list plus the operator's file at path (none when path is empty).
func Load(path string) (*Screen, error) {
	s := Default()
	if path == "" {
		return s, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("text screen list: %w", err)
	}
	defer f.Close()
	extra, err := Parse(path, f)
	if err != nil {
		return nil, err
	}
	s.rules = append(s.rules, extra...)
	return s, nil
}

// New returns a screen of rules.
func New(rules []Rule) *Screen { return &Screen{rules: rules} }

// Rules returns how many rules the screen has.
func (s *Screen) Rules() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// Parse reads a list: one "ACTION PATTERN" a line, blank lines and # comments ignored. name
// labels errors and hits.
func Parse(name string, r io.Reader) ([]Rule, error) {
	var rules []Rule
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, line)
		action, pattern, _ := strings.Cut(text, " ")
		pattern = strings.TrimSpace(pattern)
		rule, err := Compile(Action(action), pattern)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		rule.Source = where
		if len(rules) == MaxRules {
			return nil, fmt.Errorf("%s: more than %d rules", where, MaxRules)
		}
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rules, nil
}

// Compile makes one rule.
func Compile(action Action, pattern string) (Rule, error) {
	if action != Refuse && action != Flag {
		return Rule{}, fmt.Errorf("action %q: must be refuse or flag", action)
	}
	if pattern == "" || len(pattern) > MaxPatternLen {
		return Rule{}, fmt.Errorf("pattern must be 1 to %d bytes", MaxPatternLen)
	}
	r := Rule{Action: action, Pattern: pattern}
	var expr string
	if len(pattern) >= 2 && strings.HasPrefix(pattern, "/") && strings.HasSuffix(pattern, "/") {
		expr = pattern[1 : len(pattern)-1]
	} else {
		words := strings.Fields(Normalize(pattern))
		if len(words) == 0 {
			return Rule{}, fmt.Errorf("pattern %q has no letters or digits", pattern)
		}
		// Each letter may repeat (fuuuck); words are whole (no "cocktail" for "cock").
		parts := make([]string, len(words))
		for i, w := range words {
			var b strings.Builder
			for _, c := range w {
				b.WriteString(regexp.QuoteMeta(string(c)))
				b.WriteString("+")
			}
			parts[i] = b.String()
		}
		expr = `(?:^| )` + strings.Join(parts, " ") + `(?: |$)`
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return Rule{}, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	r.re = re
	return r, nil
}

// Check returns the first refuse rule text matches, else the first flag rule, else false.
func (s *Screen) Check(text string) (Hit, bool) {
	if s == nil || len(s.rules) == 0 || text == "" {
		return Hit{}, false
	}
	n := Normalize(text)
	var flag *Rule
	for i := range s.rules {
		r := &s.rules[i]
		if flag != nil && r.Action == Flag {
			continue
		}
		if !r.re.MatchString(n) {
			continue
		}
		if r.Action == Refuse {
			return Hit{Action: Refuse, Rule: r.Pattern, Source: r.Source}, true
		}
		flag = r
	}
	if flag != nil {
		return Hit{Action: Flag, Rule: flag.Pattern, Source: flag.Source}, true
	}
	return Hit{}, false
}

// Field is one named text to screen ("title", "questions[2].choices[1]").
type Field struct {
	Name string
	Text string
}

// Verdict of a set of fields: Refused maps each refused field to its message (for a 422);
// Flagged lists the fields a flag rule matched.
type Verdict struct {
	Refused map[string]string
	Flagged []FieldHit
}

// FieldHit is a flagged field.
type FieldHit struct {
	Field string `json:"field"`
	Hit
}

// Fields screens every field.
func (s *Screen) Fields(fields []Field) Verdict {
	var v Verdict
	for _, f := range fields {
		h, ok := s.Check(f.Text)
		if !ok {
			continue
		}
		if h.Action == Refuse {
			if v.Refused == nil {
				v.Refused = map[string]string{}
			}
			v.Refused[f.Name] = "contains language that is not allowed here"
			continue
		}
		v.Flagged = append(v.Flagged, FieldHit{Field: f.Name, Hit: h})
	}
	return v
}

// lookalike folds letters that NFKD leaves alone but that read as Latin ones.
var lookalike = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'һ': 'h', 'ԁ': 'd', 'ԛ': 'q',
	'ԝ': 'w', 'ɡ': 'g', 'ь': 'b', 'г': 'r', 'п': 'n', 'и': 'u', 'л': 'n', 'ц': 'u', 'ш': 'w', 'щ': 'w',
	// Greek
	'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
	'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'ϲ': 'c', 'μ': 'u', 'ς': 's', 'σ': 'o',
	// Latin letters NFKD does not decompose
	'ß': 's', 'ø': 'o', 'đ': 'd', 'ł': 'l', 'ı': 'i', 'ħ': 'h', 'æ': 'a', 'œ': 'o', 'þ': 'p', 'ŧ': 't',
	'ƒ': 'f', 'ɑ': 'a', 'ɩ': 'i', 'ʋ': 'u',
}

// leetDigit is what a digit stands for inside a word that has letters.
var leetDigit = map[rune]rune{'0': 'o', '1': 'i', '2': 'z', '3': 'e', '4': 'a', '5': 's', '6': 'g', '7': 't', '8': 'b', '9': 'g'}

// leetSymbol is what a symbol stands for when it sits inside a word (sh!t, @ss, a$$).
var leetSymbol = map[rune]rune{'@': 'a', '$': 's', '!': 'i', '|': 'l', '+': 't', '€': 'e', '£': 'l', '¢': 'c', '¥': 'y'}

// Normalize returns the form rules are matched against: lower-case letters and digits, accents
// and look-alikes folded, leetspeak read inside words, spaced-out single letters joined, every
// other character a word separator, words separated by single spaces.
func Normalize(text string) string {
	if utf8.RuneCountInString(text) > maxScreenRunes {
		text = string([]rune(text)[:maxScreenRunes])
	}
	// 1. Fold each character to its base letter, dropping marks and invisible format characters.
	var folded []rune
	for _, r := range norm.NFKD.String(text) {
		switch {
		case unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r), unicode.Is(unicode.Cf, r):
			continue
		}
		r = unicode.ToLower(r)
		if l, ok := lookalike[r]; ok {
			r = l
		}
		folded = append(folded, r)
	}
	// 2. Symbols inside words are letters (a$$, sh!t, @ss); elsewhere they separate words.
	isAlnum := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	for i, r := range folded {
		l, ok := leetSymbol[r]
		if !ok {
			continue
		}
		next := rune(0)
		if i+1 < len(folded) {
			next = folded[i+1]
		}
		prevLetter := i > 0 && unicode.IsLetter(folded[i-1])
		_, nextSym := leetSymbol[next]
		afterNext := i+2 < len(folded) && isAlnum(folded[i+2])
		if isAlnum(next) || (nextSym && afterNext) || (prevLetter && r == '$') {
			folded[i] = l
		}
	}
	// 3. Split into words; digits in a word with letters are leetspeak (f4g, sh1t).
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) == 0 {
			return
		}
		hasLetter := false
		for _, r := range cur {
			if unicode.IsLetter(r) {
				hasLetter = true
				break
			}
		}
		if hasLetter {
			for i, r := range cur {
				if l, ok := leetDigit[r]; ok {
					cur[i] = l
				}
			}
		}
		words = append(words, string(cur))
		cur = cur[:0]
	}
	for _, r := range folded {
		if isAlnum(r) {
			cur = append(cur, r)
			continue
		}
		flush()
	}
	flush()
	// 4. Runs of two or more one-letter words are one spaced-out word (f u c k, f.u.c.k).
	var out []string
	for i := 0; i < len(words); {
		j := i
		for j < len(words) && utf8.RuneCountInString(words[j]) == 1 {
			j++
		}
		if j-i >= 2 {
			out = append(out, strings.Join(words[i:j], ""))
			i = j
			continue
		}
		if j == i {
			j++
		}
		out = append(out, words[i:j]...)
		i = j
	}
	return strings.Join(out, " ")
}
