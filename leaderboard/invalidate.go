package leaderboard

import (
	"encoding/json"
	"log/slog"

	"github.com/trivium-game/trivium/services"
)

// profileChangedSubject tells every process that a player's name changed; avatar changes are
// known from avatar.processed itself. Both only drop cached names and thumbnails, so the
// non-durable PubSub is enough: a process that misses one refreshes within the cache TTL.
const profileChangedSubject = "trivium.profile.changed"

// AnnounceProfileChange returns the API's ProfileChanged hook: every process's boards drop the
// player's cached name and thumbnail.
func AnnounceProfileChange(ps services.PubSub, log *slog.Logger) func(playerID string) {
	return func(playerID string) {
		if err := ps.Publish(profileChangedSubject, []byte(playerID)); err != nil {
			log.Warn("announce profile change", "err", err)
		}
	}
}

// ForgetChangedProfiles keeps this process's name and thumbnail cache fresh: it drops a player
// on a rename and on avatar.processed (durable events are ordinary messages on the broker too,
// so this needs no durable consumer). stop ends both subscriptions.
func (s *Service) ForgetChangedProfiles(ps services.PubSub) (stop func(), err error) {
	unRenamed, err := ps.Subscribe(profileChangedSubject, func(_ string, id []byte) { s.Invalidate(string(id)) })
	if err != nil {
		return nil, err
	}
	unAvatar, err := ps.Subscribe(services.SubjectAvatarProcessed, func(_ string, data []byte) {
		var ev services.AvatarProcessed
		if json.Unmarshal(data, &ev) == nil && ev.PlayerID != "" {
			s.Invalidate(ev.PlayerID)
		}
	})
	if err != nil {
		unRenamed()
		return nil, err
	}
	return func() { unRenamed(); unAvatar() }, nil
}
