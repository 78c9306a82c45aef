package localblob

import (
	"strings"
	"unicode/utf8"

	"github.com/trivium-game/trivium/services"
)

// maxKeyLen matches S3's limit so keys stay portable between drivers.
const maxKeyLen = 1024

// validKey refuses keys that could escape a directory or be read two ways: absolute, with
// empty, "." or ".." segments, backslashes (a separator on Windows), NUL or other control
// characters. Keys are hashed into file names anyway; refusing them keeps both drivers
// interchangeable and keeps such keys out of URLs.
func validKey(key string) error {
	switch {
	case key == "":
		return services.Errorf(services.EInvalid, "blob key is empty")
	case len(key) > maxKeyLen:
		return services.Errorf(services.EInvalid, "blob key is longer than %d bytes", maxKeyLen)
	case !utf8.ValidString(key):
		return services.Errorf(services.EInvalid, "blob key is not UTF-8")
	case strings.ContainsRune(key, '\\'):
		return services.Errorf(services.EInvalid, "blob key contains a backslash")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return services.Errorf(services.EInvalid, "blob key contains a control character")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return services.Errorf(services.EInvalid, "blob key %q has an empty, \".\" or \"..\" segment", key)
		}
	}
	return nil
}

// validHeaderValue refuses values that cannot travel in an HTTP header or would make the
// newline-separated signed string ambiguous.
func validHeaderValue(what, v string) error {
	for _, r := range v {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return services.Errorf(services.EInvalid, "%s contains a control character", what)
		}
	}
	return nil
}
