package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/webpush"
)

// pushing is the notification side of serve: the API's subscription and inbox service and, when
// the notifier role runs here, the notifier.
type pushing struct {
	service  *notify.Service
	notifier *notify.Notifier // nil unless the notifier role runs
}

// openNotify loads (or on first start creates) the VAPID keys and builds the subscription
// service and, for the notifier role, the notifier, which sends in-band copies through mirror
// (to the player's WebSockets on whichever gateway holds them). cdn is the base URL the events'
// image keys resolve under.
func openNotify(ctx context.Context, cfg *Config, a *app, cdn string, mirror func(playerID string, frame []byte) int) (*pushing, error) {
	store := a.db.NotifyStore()
	keys, created, err := webpush.LoadOrCreateVAPID(ctx, a.secrets)
	if err != nil {
		return nil, fmt.Errorf("vapid keys: %w (run `trivium vapid init`)", err)
	}
	if created {
		a.log.Info("generated VAPID keys", "public_key", keys.Public)
	}
	allowPrivate := cfg.PushAllowPrivate
	if allowPrivate {
		a.log.Warn("TRIVIUM_PUSH_ALLOW_PRIVATE=1: push endpoints on loopback and private addresses are accepted; never set it in production")
	}
	p := &pushing{service: notify.NewService(notify.ServiceConfig{Store: store, VAPIDPublicKey: keys.Public, AllowPrivate: allowPrivate})}
	if !cfg.Roles.on("notifier") {
		return p, nil
	}
	sender, err := webpush.NewSender(webpush.Config{Keys: keys, Subscriber: cfg.PushContact, AllowPrivate: allowPrivate})
	if err != nil {
		return nil, err
	}
	p.notifier, err = notify.New(notify.Config{Store: store, Sender: sender, Mirror: mirror, CDNURL: cdn, Logger: a.log})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// run consumes notifiable events and sends pushes until ctx ends.
func (p *pushing) run(ctx context.Context, bus services.Bus) error {
	return p.notifier.Run(ctx, bus)
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
