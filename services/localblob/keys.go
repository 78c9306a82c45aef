package localblob

import "github.com/trivium-game/trivium/services"

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
