package services

// PubSub is non-durable fan-out: a message reaches the subscribers that are listening right now,
// in every process on the same broker, and nobody later. It carries what only matters to who is
// up (in-band copies for open WebSockets, revoked sessions, cache invalidations); anything that
// must not be lost goes through the durable Bus instead.
//
// Subjects are dot-separated tokens; a subscription may use "*" for one token and a final ">"
// for the rest, as in NATS.
type PubSub interface {
	Publish(subject string, data []byte) error
	// Subscribe delivers every later message on subject to h (one at a time per subscription)
	// until unsubscribe is called. When Subscribe returns, the subscription is in place on the
	// broker: a message published afterwards from any process reaches it.
	Subscribe(subject string, h func(subject string, data []byte)) (unsubscribe func(), err error)
}
