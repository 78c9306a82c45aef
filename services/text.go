package services

import (
	"strings"
	"unicode/utf8"
)

// CleanText is the one rule for text people type that others see: display names, nicknames,
// chat and quiz text. It trims surrounding white space and removes the characters that let a
// message look different from what it is or reach a terminal:
//
//   - C0 controls (NUL, ESC, …) except tab and newline, DEL, and the C1 controls U+0080–U+009F;
//     a CR before LF is dropped, a lone CR becomes LF;
//   - bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which
//     reorder the text around them ("Trojan Source");
//   - invisible characters: zero width space U+200B, word joiner U+2060, the invisible operators
//     U+2061–U+2064, BOM U+FEFF, Mongolian vowel separator U+180E, soft hyphen U+00AD and the
//     tag characters U+E0000–U+E007F (an invisible copy of ASCII);
//   - zero width (non-)joiners U+200C/U+200D unless both neighbours are non-ASCII: they are needed
//     inside emoji sequences and Indic or Persian words, and only ever spoof next to ASCII
//     ("ad\u200dmin");
//
// Invalid UTF-8 is kept as it is, byte for byte, for the caller to refuse (JSON decoding has
// already replaced it in anything that came over the API).
//
// Names refuse what this removes (CleanText(s) != trimmed s); chat and quiz text keep the rest.
func CleanText(s string) string {
	s = strings.TrimSpace(s)
	if isClean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := rune(0) // the last rune kept or skipped, for the joiner rule
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		next, _ := utf8.DecodeRuneInString(s[i+n:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteByte(s[i])
		case r == '\r':
			if next != '\n' {
				b.WriteRune('\n')
			}
		case r == 0x200C || r == 0x200D:
			if prev >= utf8.RuneSelf && next >= utf8.RuneSelf && next != utf8.RuneError && !removed(prev) && !removed(next) {
				b.WriteRune(r)
			}
		case removed(r):
		default:
			b.WriteRune(r)
		}
		prev = r
		i += n
	}
	return strings.TrimSpace(b.String())
}

// isClean is the fast path: most text has none of the characters CleanText touches.
func isClean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
			return isCleanSlow(s[i:])
		}
	}
	return true
}

func isCleanSlow(s string) bool {
	for _, r := range s {
		if r == '\r' || r == 0x200C || r == 0x200D || removed(r) {
			return false
		}
	}
	return true
}

// removed reports the characters CleanText always drops.
func removed(r rune) bool {
	switch {
	case r < 0x20:
		return r != '\t' && r != '\n' && r != '\r'
	case r == 0x7f, r >= 0x80 && r <= 0x9f, r == 0xad, r == 0x180e, r == 0xfeff:
		return true
	case r == 0x200b, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2064, r >= 0x2066 && r <= 0x2069:
		return true
	case r >= 0xe0000 && r <= 0xe007f:
		return true
	}
	return false
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence: the one cut for stored
// reasons, error headers and push text that have a byte budget.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:max(n, 0)]
}
