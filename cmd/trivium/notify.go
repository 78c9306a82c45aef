package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/webpush"
)

// pushing is the notification side of serve: the API's subscription and inbox service and, when
// the notifier role runs here, the notifier.
type pushing struct {
	service  *notify.Service
	notifier *notify.Notifier // nil unless the notifier role runs
	bus      *natsbus.Bus     // carries in-band copies between processes
	log      *slog.Logger
	// mirror is the gateway's SendToPlayer, set once the gateway is built (after the workers
	// start); until then in-band copies have no connection to go to anyway.
	mirror atomic.Pointer[func(playerID string, frame []byte) int]
}

// openNotify loads (or on first start creates) the VAPID keys
// and builds the subscription service and, for the notifier role, the notifier.
func openNotify(ctx context.Context, a *app) (*pushing, error) {
	contact, err := pushContact(a.s["push-contact"])
	if err != nil {
		return nil, err
	}
	store := a.db.NotifyStore()
	keys, created, err := webpush.LoadOrCreateVAPID(ctx, a.secrets)
	if err != nil {
		return nil, fmt.Errorf("vapid keys: %w (run `trivium vapid init`)", err)
	}
	if created {
		a.log.Info("generated VAPID keys", "public_key", keys.Public)
	}
	allowPrivate := a.s.bool("push-allow-private")
	if allowPrivate {
		a.log.Warn("TRIVIUM_PUSH_ALLOW_PRIVATE=1: push endpoints on loopback and private addresses are accepted; never set it in production")
	}
	p := &pushing{service: notify.NewService(notify.ServiceConfig{Store: store, VAPIDPublicKey: keys.Public, AllowPrivate: allowPrivate}),
		bus: a.bus, log: a.log}
	if !roleOn(a.s, "notifier") {
		return p, nil
	}
	sender, err := webpush.NewSender(webpush.Config{Keys: keys, Subscriber: contact, AllowPrivate: allowPrivate})
	if err != nil {
		return nil, err
	}
	p.notifier, err = notify.New(notify.Config{Store: store, Sender: sender, Mirror: p.sendToPlayer, Logger: a.log})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// run consumes notifiable events and sends pushes until ctx ends.
func (p *pushing) run(ctx context.Context, bus services.Bus) error {
	return p.notifier.Run(ctx, bus)
}

// inbandSubject carries in-band copies of notifications to every gateway process; the one that
// holds the player's WebSockets delivers them. Player ids are opaque tokens without dots.
const inbandSubject = "trivium.inband."

// mirrorTo routes in-band copies to the gateway's open WebSockets: those of this process at
// once, and — when other processes run the gateway (roles on separate processes share the bus's
// NATS server) — theirs through the bus.
func (p *pushing) mirrorTo(send func(playerID string, frame []byte) int) { p.mirror.Store(&send) }

func (p *pushing) sendToPlayer(playerID string, frame []byte) int {
	if p.bus != nil && !strings.ContainsAny(playerID, ".*> ") {
		if err := p.bus.PublishRaw(inbandSubject+playerID, frame); err != nil {
			p.log.Warn("in-band notification", "err", err)
		}
		return 0 // delivered by the listening gateways, this one included
	}
	send := p.mirror.Load()
	if send == nil {
		return 0
	}
	return (*send)(playerID, frame)
}

// relayInband delivers in-band copies published by any notifier to this gateway's WebSockets.
func (p *pushing) relayInband(ctx context.Context, bus *natsbus.Bus, send func(playerID string, frame []byte) int) error {
	return bus.ListenRaw(ctx, inbandSubject+"*", "", func(_ context.Context, frame []byte, subject string) error {
		send(strings.TrimPrefix(subject, inbandSubject), frame)
		return nil
	})
}

// pushContact checks TRIVIUM_PUSH_CONTACT: push services (Apple's in particular) refuse pushes
// whose VAPID subject is not a mailto: or https: contact.
func pushContact(v string) (string, error) {
	addr, isMail := strings.CutPrefix(v, "mailto:")
	ok := isMail && strings.Contains(addr, "@") && !strings.ContainsAny(addr, ": \t\r\n") ||
		strings.HasPrefix(v, "https://") && len(v) > len("https://") && !strings.ContainsAny(v, " \t\r\n")
	if !ok {
		return "", fmt.Errorf("TRIVIUM_PUSH_CONTACT %q is not a contact push services accept: set TRIVIUM_PUSH_CONTACT (or --push-contact) to mailto:you@example.com or an https:// URL", v)
	}
	return v, nil
}
