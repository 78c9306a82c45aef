package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
)

// twoGateways starts two servers that share a database, their secrets and a NATS server, as two
// gateway processes of one deployment do; each has its own data directory (and node id).
// Extra settings of the second process are in env2.
func twoGateways(t *testing.T, env2 map[string]string) (one, two *server, bus *natsbus.Bus) {
	t.Helper()
	url, bus := startNATS(t)
	one = startServer(t, map[string]string{"TRIVIUM_BUS": url, "TRIVIUM_SEED": "0"})
	data := t.TempDir()
	// The second process signs and checks tokens with the first one's key.
	if err := os.CopyFS(filepath.Join(data, "secrets"), os.DirFS(filepath.Join(one.Data, "secrets"))); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TRIVIUM_BUS": url, "TRIVIUM_DATA": data, "TRIVIUM_SEED": "0",
		"TRIVIUM_DB": "sqlite:" + filepath.Join(one.Data, "trivium.db")}
	for k, v := range env2 {
		env[k] = v
	}
	return one, startServer(t, env), bus
}

// Logging out on one gateway closes the session's sockets on every other gateway too
// (trivium.session.revoked), and only that session's.
func TestLogoutOnOneGatewayClosesTheSessionsSocketsOnAnother(t *testing.T) {
	one, two, _ := twoGateways(t, nil)
	a := register(t, one, "roamer")
	phone := dial(t, two, &account{Token: a.Token})
	laptop := dial(t, two, &account{Token: login(t, one, "roamer")})
	phone.waitFrame("pong", phone.send("ping", struct{}{}))

	expect(t, call(t, "POST", one.URL+"/api/v1/auth/logout", a.Token, nil), 204)
	testwait.For(t, "the logged-out socket on the other gateway to close", 10*time.Second, func() bool { return phone.closeErr() != nil })
	if !websocket.IsCloseError(phone.closeErr(), 4401) {
		t.Fatalf("closed with %v, want 4401 session revoked", phone.closeErr())
	}
	laptop.waitFrame("pong", laptop.send("ping", struct{}{}))
}

// A notification sent by the notifier in one process reaches the player's socket held by a
// gateway in another (trivium.inband.*), as an in-band frame.
func TestTheNotifierInOneProcessReachesASocketOnAnotherGateway(t *testing.T) {
	one, two, bus := twoGateways(t, map[string]string{"TRIVIUM_ROLES": "gateway"}) // no notifier on two
	a := register(t, one, "faraway")
	c := dial(t, two, a)
	c.waitFrame("pong", c.send("ping", struct{}{}))
	(&busServer{server: one, bus: bus}).avatarOutcome(t, a.ID, "up-far", services.AvatarAccepted)
	var nf struct {
		Topic string
		Data  struct{ UploadID, Status string }
	}
	f := c.waitFrame("notification", "")
	if err := json.Unmarshal(f.Data, &nf); err != nil {
		t.Fatal(err)
	}
	if nf.Topic != "avatar" || nf.Data.UploadID != "up-far" {
		t.Fatalf("in-band notification %s", f.Data)
	}
}
