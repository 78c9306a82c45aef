package games

import (
	"sort"
	"sync"
	"time"
)

// Clock is the time source of rooms and the manager; tests inject a FakeClock so deadlines fire
// without sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for a fake clock, in the goroutine that advances
	// it) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call; false if it already ran or was stopped.
	Stop() bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// FakeClock is a manual clock for tests, in this package and in others (gateway tests drive
// rooms with it). Time moves only through Advance and Set.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	nextID  int64
	timers  map[int64]*fakeTimer
	changed chan struct{} // closed and replaced whenever the set of timers changes
}

type fakeTimer struct {
	c  *FakeClock
	id int64
	at time.Time
	f  func()
}

// NewFakeClock returns a fake clock reading t0.
func NewFakeClock(t0 time.Time) *FakeClock {
	return &FakeClock{now: t0, timers: map[int64]*fakeTimer{}, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc registers f to run when the clock is advanced past now+d.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	t := &fakeTimer{c: c, id: c.nextID, at: c.now.Add(d), f: f}
	c.timers[t.id] = t
	c.notifyLocked()
	return t
}

// Stop cancels the timer.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if _, ok := t.c.timers[t.id]; !ok {
		return false
	}
	delete(t.c.timers, t.id)
	t.c.notifyLocked()
	return true
}

func (c *FakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock forward by d, running every timer that falls due, in order of due
// time, synchronously in the caller's goroutine with the clock set to that timer's due time.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.setLocked(c.now.Add(d))
}

// Set moves the clock to t (never backwards) like Advance.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	if t.Before(c.now) {
		t = c.now
	}
	c.setLocked(t)
}

// setLocked is entered locked and returns unlocked: timers run without the lock so they may
// arm new timers.
func (c *FakeClock) setLocked(target time.Time) {
	for {
		var due []*fakeTimer
		for _, t := range c.timers {
			if !t.at.After(target) {
				due = append(due, t)
			}
		}
		if len(due) == 0 {
			break
		}
		sort.Slice(due, func(i, j int) bool {
			if !due[i].at.Equal(due[j].at) {
				return due[i].at.Before(due[j].at)
			}
			return due[i].id < due[j].id
		})
		t := due[0]
		delete(c.timers, t.id)
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.notifyLocked()
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = target
	c.mu.Unlock()
}

// Pending returns how many timers are armed.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitForTimer blocks until some armed timer is due at or before t, or timeout elapses (real
// time); it reports whether one is. Tests use it to know an asynchronous actor has armed its
// timer before they advance the clock.
func (c *FakeClock) WaitForTimer(t time.Time, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for _, tm := range c.timers {
			if !tm.at.After(t) {
				c.mu.Unlock()
				return true
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}
