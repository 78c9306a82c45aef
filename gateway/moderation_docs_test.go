package gateway

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/services/games"
)

// The moderation limits docs/API.md states are the ones the code applies.
func TestAPIDocsStateTheModerationLimitsInForce(t *testing.T) {
	doc, err := os.ReadFile("../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	hours := int(moderation.MaxSuspension / time.Hour)
	for _, want := range []string{
		fmt.Sprintf("| reports per reporter | %d an hour; one open per target; reason 1–%d characters |", moderation.MaxReportsPerHour, moderation.MaxReportReason),
		fmt.Sprintf("| moderator action | reason 1–%d characters; suspension and mute 1–%d,%03d h |", moderation.MaxNote, hours/1000, hours%1000),
		fmt.Sprintf("| chat kept per game for reports | %d messages |", games.ChatKept),
		fmt.Sprintf("`state.chat` shows the last %d", games.ChatHistory),
		"`chat_deleted` | `{id}`",
		"error {code: muted}",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/API.md does not say %q", want)
		}
	}
}
