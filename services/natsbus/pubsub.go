package natsbus

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/trivium-game/trivium/services"
)

// PubSub is services.PubSub on core NATS (no JetStream): the fan-out between processes that
// share a NATS server. Messages nobody is subscribed to are dropped by the server.
type PubSub struct{ nc *nats.Conn }

var _ services.PubSub = PubSub{}

// NewPubSub carries the port over nc.
func NewPubSub(nc *nats.Conn) PubSub { return PubSub{nc: nc} }

// PubSub is the port on the bus's connection (the embedded server or the cluster's).
func (b *Bus) PubSub() PubSub { return NewPubSub(b.nc) }

// Publish sends data to whoever is subscribed right now.
func (p PubSub) Publish(subject string, data []byte) error {
	if err := p.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

// subscribeFlushTimeout bounds the round trip that makes a new subscription known to the server.
const subscribeFlushTimeout = 5 * time.Second

// Subscribe delivers messages on subject to h on the connection's goroutine for this
// subscription; it returns once the server has the subscription.
func (p PubSub) Subscribe(subject string, h func(subject string, data []byte)) (func(), error) {
	sub, err := p.nc.Subscribe(subject, func(m *nats.Msg) { h(m.Subject, m.Data) })
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	if err := p.nc.FlushTimeout(subscribeFlushTimeout); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
