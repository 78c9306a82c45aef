package gateway

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
)

// The gateways' fan-out on services.PubSub: what one process tells every gateway process, its
// own included. Neither is durable: both only concern sockets open right now.
const (
	// inbandSubject + a player id carries an in-band copy of a notification; the process that
	// holds the player's WebSockets delivers it. Player ids are opaque tokens without dots.
	inbandSubject = "trivium.inband."
	// sessionRevokedSubject carries logged-out session ids; every gateway closes that session's
	// sockets (the logout handler closes those on its own process at once).
	sessionRevokedSubject = "trivium.session.revoked"
	// playerSuspendedSubject carries suspended player ids; every gateway closes all of that
	// player's sockets (their sessions are already revoked and their token refused).
	playerSuspendedSubject = "trivium.player.suspended"
)

// SendToPlayerEverywhere returns a non-blocking send of a frame to a player's WebSockets on
// whichever gateway process holds them (notify's Mirror). It reports 0 taken: only the
// receiving gateways know.
func SendToPlayerEverywhere(ps services.PubSub, log *slog.Logger) func(playerID string, frame []byte) int {
	return func(playerID string, frame []byte) int {
		if playerID == "" || strings.ContainsAny(playerID, ".*> \t\r\n") {
			return 0 // not a subject token, so not an id of ours
		}
		if err := ps.Publish(inbandSubject+playerID, frame); err != nil {
			log.Warn("in-band notification", "err", err)
		}
		return 0
	}
}

// AnnounceLogout is the logout hook that has every gateway close the revoked session's sockets.
func AnnounceLogout(ps services.PubSub, log *slog.Logger) LogoutHook {
	return func(_ *http.Request, id *accounts.Identity) {
		if err := ps.Publish(sessionRevokedSubject, []byte(id.SessionID)); err != nil {
			log.Warn("announce logout", "err", err)
		}
	}
}

// AnnounceSuspension has every gateway close a suspended player's sockets.
func AnnounceSuspension(ps services.PubSub, log *slog.Logger) func(playerID string) {
	return func(playerID string) {
		if err := ps.Publish(playerSuspendedSubject, []byte(playerID)); err != nil {
			log.Warn("announce suspension", "err", err)
		}
	}
}

// OnSuspension calls fn with every suspended player's id announced by any process (for a cache
// of players to drop theirs at once). stop ends the subscription.
func OnSuspension(ps services.PubSub, fn func(playerID string)) (stop func(), err error) {
	return ps.Subscribe(playerSuspendedSubject, func(_ string, id []byte) { fn(string(id)) })
}

// ListenFanout delivers the gateways' fan-out to this process's sockets: in-band copies to the
// player's WebSockets, revoked sessions and suspended players closed. stop ends all subscriptions.
func (s *Server) ListenFanout(ps services.PubSub) (stop func(), err error) {
	unInband, err := ps.Subscribe(inbandSubject+"*", func(subject string, frame []byte) {
		s.hub.SendToPlayer(strings.TrimPrefix(subject, inbandSubject), frame)
	})
	if err != nil {
		return nil, err
	}
	unRevoked, err := ps.Subscribe(sessionRevokedSubject, func(_ string, id []byte) { s.hub.closeSession(string(id)) })
	if err != nil {
		unInband()
		return nil, err
	}
	unSuspended, err := ps.Subscribe(playerSuspendedSubject, func(_ string, id []byte) { s.hub.closePlayer(string(id)) })
	if err != nil {
		unInband()
		unRevoked()
		return nil, err
	}
	return func() { unInband(); unRevoked(); unSuspended() }, nil
}
