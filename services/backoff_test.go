package services_test

import (
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

func TestBackoffDoublesUpToItsMax(t *testing.T) {
	b := services.Backoff{Base: time.Second, Max: 5 * time.Second, Rand: func() float64 { return 0.5 }}
	for attempt, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		if got := b.Delay(attempt + 1); got != want {
			t.Fatalf("attempt %d: %v, want %v", attempt+1, got, want)
		}
	}
}

func TestBackoffJitterSpansTwentyPercent(t *testing.T) {
	for _, c := range []struct {
		r    float64
		want time.Duration
	}{{0, 8 * time.Second}, {0.5, 10 * time.Second}, {0.999, 11996 * time.Millisecond}} {
		b := services.Backoff{Base: 10 * time.Second, Max: time.Minute, Rand: func() float64 { return c.r }}
		if got := b.Delay(1); got != c.want {
			t.Fatalf("rand %v: %v, want %v", c.r, got, c.want)
		}
	}
	b := services.Backoff{Base: time.Second, Max: time.Second}
	for range 50 {
		if d := b.Delay(3); d < 800*time.Millisecond || d >= 1200*time.Millisecond {
			t.Fatalf("%v outside ±20%% of 1s", d)
		}
	}
}

func TestStepDelayHasJitterAroundEachStep(t *testing.T) {
	steps := []time.Duration{time.Second, 10 * time.Second}
	for n := 1; n <= 4; n++ {
		base := steps[min(n-1, 1)]
		for range 50 {
			d := services.StepDelay(steps, n)
			if d < base*8/10 || d > base*12/10 {
				t.Fatalf("attempt %d: %s outside ±20%% of %s", n, d, base)
			}
		}
	}
	if d := services.StepDelay(nil, 1); d != time.Second {
		t.Fatalf("no steps: %v, want 1s", d)
	}
}
