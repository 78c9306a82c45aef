package testwait_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
)

// fakeT records a failure instead of ending the test that runs the check.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(f) // Fatalf does not return: stop For here
}

func run(f *fakeT, fn func()) {
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
	}()
	fn()
}

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	f := &fakeT{TB: t}
	run(f, func() { testwait.Until(f, "three", func() bool { return n.Load() == 3 }) })
	if f.failed != "" {
		t.Fatalf("failed: %s", f.failed)
	}
}

func TestForFailsAfterItsDeadline(t *testing.T) {
	f := &fakeT{TB: t}
	start := time.Now()
	run(f, func() { testwait.For(f, "never", 50*time.Millisecond, func() bool { return false }) })
	if f.failed != "timed out after 50ms waiting for never" {
		t.Fatalf("failure = %q", f.failed)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before its deadline", d)
	}
}
