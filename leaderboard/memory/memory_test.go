package memory_test

import (
	"testing"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/leaderboard/leaderboardtest"
	"github.com/trivium-game/trivium/leaderboard/memory"
)

func TestConformance(t *testing.T) {
	leaderboardtest.Run(t, func(*testing.T) leaderboard.Engine { return memory.New() })
}
