package gateway

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The limits in docs/API.md are the ones the code applies.
func TestAPIDocsStateTheWebSocketLimitsInForce(t *testing.T) {
	doc, err := os.ReadFile("../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	var c WSConfig
	c.fill()
	for _, want := range []string{
		fmt.Sprintf("%d-frame send queue", c.SendQueue),
		fmt.Sprintf("| send queue per connection | %d frames |", c.SendQueue),
		fmt.Sprintf("| open WebSockets per player | %d |", c.PerAccount),
		fmt.Sprintf("| open WebSockets per address | %d |", c.PerAddress),
		fmt.Sprintf("%g/s, burst %d", c.FrameRate, c.FrameBurst),
		fmt.Sprintf("close **%d**", CloseSessionRevoked),
		fmt.Sprintf("| API requests per address | %d/s, burst %d |", DefaultAPIRate, DefaultAPIBurst),
		fmt.Sprintf("1/s, burst %d | `TRIVIUM_AUTH_RATE`", DefaultAuthBurst),
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/API.md does not say %q", want)
		}
	}
}
