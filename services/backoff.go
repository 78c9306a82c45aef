package services

import (
	"math/rand/v2"
	"time"
)

// Backoff is the wait between the retries of one failing thing: Base after the first failure,
// doubling after each further one up to Max, spread by ±20% so that the retries of many things
// that failed together do not come back together. Every retry loop in the tree uses it (or
// StepDelay, for a schedule of steps).
type Backoff struct {
	Base, Max time.Duration
	// Rand returns a number in [0, 1) that places the delay in its ±20%; math/rand/v2.Float64
	// when nil. 0.5 gives the nominal delay.
	Rand func() float64
}

// Delay is the wait after the attempt-th failure in a row (the first failure is attempt 1).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return jitter(min(d, b.Max), b.Rand)
}

// StepDelay is the wait after the attempt-th failure on a schedule of steps (the last step
// repeats), with Backoff's jitter; a second when there are no steps.
func StepDelay(steps []time.Duration, attempt int) time.Duration {
	if len(steps) == 0 {
		return time.Second
	}
	return jitter(steps[min(max(attempt-1, 0), len(steps)-1)], nil)
}

func jitter(d time.Duration, r func() float64) time.Duration {
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(float64(d) * (0.8 + 0.4*r()))
}
