// Package pubsub is the in-process services.PubSub: every subscriber lives in this process. It
// is the fan-out of one process and of tests; services/natsbus carries the same port between
// processes.
package pubsub

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/trivium-game/trivium/services"
)

// Memory delivers each message synchronously to the matching subscribers, in the publisher's
// goroutine, one at a time per subscription.
type Memory struct {
	mu   sync.Mutex
	next int
	subs map[int]*memSub
}

type memSub struct {
	pattern []string
	mu      sync.Mutex // one delivery at a time, as NATS does per subscription
	h       func(subject string, data []byte)
	gone    atomic.Bool
}

var _ services.PubSub = (*Memory)(nil)

// NewMemory returns an empty in-process broker.
func NewMemory() *Memory { return &Memory{subs: map[int]*memSub{}} }

// Publish delivers data to every current subscriber whose subject matches.
func (m *Memory) Publish(subject string, data []byte) error {
	tokens := strings.Split(subject, ".")
	m.mu.Lock()
	var hit []*memSub
	for _, s := range m.subs {
		if match(s.pattern, tokens) {
			hit = append(hit, s)
		}
	}
	m.mu.Unlock()
	for _, s := range hit {
		s.mu.Lock()
		if !s.gone.Load() {
			s.h(subject, data)
		}
		s.mu.Unlock()
	}
	return nil
}

// Subscribe registers h for subject (wildcards allowed).
func (m *Memory) Subscribe(subject string, h func(subject string, data []byte)) (func(), error) {
	s := &memSub{pattern: strings.Split(subject, "."), h: h}
	m.mu.Lock()
	id := m.next
	m.next++
	m.subs[id] = s
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.subs, id)
		m.mu.Unlock()
		s.gone.Store(true) // a delivery already running finishes; no new one starts
	}, nil
}

// match reports whether a subject's tokens match a pattern's: "*" matches one token, a final
// ">" one or more.
func match(pattern, subject []string) bool {
	for i, p := range pattern {
		if p == ">" && i == len(pattern)-1 {
			return len(subject) > i
		}
		if i >= len(subject) || (p != "*" && p != subject[i]) {
			return false
		}
	}
	return len(pattern) == len(subject)
}
