// Package testwait is how tests wait for asynchronous work: on a condition with a deadline,
// never a fixed sleep.
package testwait

import (
	"testing"
	"time"
)

// Timeout is Until's deadline: generous, since it only matters when a test is about to fail.
const Timeout = 15 * time.Second

// poll is how often the condition is checked again.
const poll = 2 * time.Millisecond

// Until checks cond every few milliseconds until it holds, failing t after Timeout.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	For(t, what, Timeout, cond)
}

// For is Until with its own deadline.
func For(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-tick.C:
		}
	}
}
