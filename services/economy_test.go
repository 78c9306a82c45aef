package services

import "testing"

func TestLevelCurve(t *testing.T) {
	tests := []struct {
		xp                int64
		level             int
		levelXP, nextSpan int64
	}{
		{0, 1, 0, 100},
		{99, 1, 99, 100},
		{100, 2, 0, 200},
		{299, 2, 199, 200},
		{300, 3, 0, 300},
		{1000, 5, 0, 500},
		{-5, 1, 0, 100},
	}
	for _, tc := range tests {
		p := LevelOf(tc.xp, 0)
		if p.Level != tc.level || p.LevelXP != tc.levelXP || p.NextLevelXP != tc.nextSpan {
			t.Errorf("LevelOf(%d) = level %d, %d/%d; want level %d, %d/%d", tc.xp, p.Level, p.LevelXP, p.NextLevelXP, tc.level, tc.levelXP, tc.nextSpan)
		}
	}
	if p := LevelOf(1<<62, 0); p.Level != MaxLevel {
		t.Errorf("huge XP is level %d, want the cap %d", p.Level, MaxLevel)
	}
}

func TestRewardRules(t *testing.T) {
	type pair struct{ xp, coins int64 }
	of := func(xp, coins int64) pair { return pair{xp, coins} }
	tests := []struct {
		name string
		got  pair
		want pair
	}{
		{"winner of two", of(GameAward(2500, 1, 2)), pair{25 + XPFinish + 50, 10}},
		{"third of five", of(GameAward(0, 3, 5)), pair{XPFinish + 20, 4}},
		{"fourth of five", of(GameAward(900, 4, 5)), pair{9 + XPFinish, CoinsFinish}},
		{"alone", of(GameAward(3000, 1, 1)), pair{30 + XPFinish, CoinsFinish}},
		{"single player", of(PlayAward(4200)), pair{42 + XPFinishPlay, 4}},
		{"single player capped", of(PlayAward(90000)), pair{900 + XPFinishPlay, MaxRewardedPlay}},
		{"host of 3, 2 registered", of(HostAward(2, 3)), pair{XPHost + 6, 2}},
		{"host of nobody", of(HostAward(0, 0)), pair{0, 0}},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
}
