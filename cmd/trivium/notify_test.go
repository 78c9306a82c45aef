package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/moderation/corpus"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/webpush/pushtest"
)

// startNATS runs a JetStream server on a loopback port for one test, so the test can publish on
// the same bus as the server under test (whose embedded bus is unreachable from outside).
func startNATS(t testing.TB) (url string, bus *natsbus.Bus) {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	bus, err = natsbus.Open(context.Background(), ns.ClientURL(), natsbus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	return ns.ClientURL(), bus
}

// pushServer starts a trivium server on its own bus that accepts loopback push endpoints, and a
// test push service that knows the server's VAPID key.
func pushServer(t testing.TB) (*busServer, *pushtest.Server) {
	t.Helper()
	url, bus := startNATS(t)
	s := startServer(t, map[string]string{"TRIVIUM_BUS": url, "TRIVIUM_PUSH_ALLOW_PRIVATE": "1"})
	push := pushtest.New(t)
	var key struct{ PublicKey string }
	expect(t, call(t, "GET", s.URL+"/api/v1/push/vapid-public-key", "", nil), 200).decode(t, &key)
	push.SetVAPIDKey(t, key.PublicKey)
	return &busServer{server: s, bus: bus}, push
}

type busServer struct {
	*server
	bus *natsbus.Bus
}

// avatarOutcome publishes avatar.processed as the moderation workflow does.
func (s *busServer) avatarOutcome(t testing.TB, playerID, uploadID, status string) {
	t.Helper()
	data, _ := json.Marshal(services.AvatarProcessed{UploadID: uploadID, PlayerID: playerID, Status: services.UploadStatus(status),
		ThumbKey: "public/avatars/" + uploadID + "-64.jpg"})
	if err := s.bus.Publish(context.Background(), services.SubjectAvatarProcessed, "avatar.processed:"+uploadID, data); err != nil {
		t.Fatal(err)
	}
}

func subscribe(t testing.TB, s *server, token string, sub pushtest.Subscription) apiResp {
	t.Helper()
	return call(t, "POST", s.URL+"/api/v1/push/subscriptions", token, sub)
}

func login(t testing.TB, s *server, name string) string {
	t.Helper()
	var out struct{ Token string }
	expect(t, call(t, "POST", s.URL+"/api/v1/auth/login", "", map[string]string{"username": name, "password": "correct horse battery"}), 200).decode(t, &out)
	return out.Token
}

func TestPushEndpointsOnPrivateAddressesAreRefusedByDefault(t *testing.T) {
	s := startServer(t, nil)
	a := register(t, s, "ssrf")
	push := pushtest.New(t)
	good := push.NewSubscription()
	for _, endpoint := range []string{
		"https://127.0.0.1/push/x",
		"https://10.1.2.3/push/x",
		"https://169.254.169.254/latest/meta-data",
		"https://[::1]/push/x",
		"https://[::ffff:127.0.0.1]/push/x",
		"https://localhost/push/x", // a hostname resolving to 127.0.0.1
		good.Endpoint,              // the test push service itself: http on loopback
		"http://push.example.com/x",
	} {
		sub := good
		sub.Endpoint = endpoint
		expectProblem(t, subscribe(t, s, a.Token, sub), 422, "endpoint")
	}
	bad := good
	bad.Keys.P256dh, bad.Keys.Auth = "AAAA", "short"
	bad.Endpoint = "https://push.example.com/x"
	p := expectProblem(t, subscribe(t, s, a.Token, bad), 422, "keys.p256dh")
	if p.Errors["keys.auth"] == "" {
		t.Fatalf("bad auth secret not reported: %+v", p)
	}
	expectProblem(t, call(t, "POST", s.URL+"/api/v1/push/subscriptions", a.Token, `{"endpoint":"https://push.example.com/x","extra":1}`), 422, "extra")
}

func TestStartRefusesAPushContactPushServicesWouldRefuse(t *testing.T) {
	for _, contact := range []string{"ops@example.com", "http://example.com", "mailto:"} {
		env := map[string]string{"TRIVIUM_ADDR": "127.0.0.1:0", "TRIVIUM_DATA": t.TempDir(), "TRIVIUM_PUSH_CONTACT": contact}
		err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "TRIVIUM_PUSH_CONTACT") || !strings.Contains(err.Error(), "mailto:") {
			t.Fatalf("contact %q: start returned %v, want an error saying how to set TRIVIUM_PUSH_CONTACT", contact, err)
		}
	}
}

func TestVAPIDKeyIsCreatedOnceAndServedWithoutAuth(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, map[string]string{"TRIVIUM_DATA": data})
	var first struct{ PublicKey string }
	expect(t, call(t, "GET", s.URL+"/api/v1/push/vapid-public-key", "", nil), 200).decode(t, &first)
	if len(first.PublicKey) != 87 { // 65 bytes, base64url without padding
		t.Fatalf("public key %q", first.PublicKey)
	}
	s.Stop(t)
	s = startServer(t, map[string]string{"TRIVIUM_DATA": data})
	var again struct{ PublicKey string }
	expect(t, call(t, "GET", s.URL+"/api/v1/push/vapid-public-key", "", nil), 200).decode(t, &again)
	if again.PublicKey != first.PublicKey {
		t.Fatal("the VAPID key changed across a restart: every browser would have to resubscribe")
	}
}

// Subscriptions through the HTTP API, observed through what the notifier pushes: the cap of 10
// drops the oldest, an endpoint registered by another player moves to them, logout removes the
// session's subscriptions, unsubscribe removes one.
func TestPushSubscriptionLifecycle(t *testing.T) {
	s, push := pushServer(t)
	api := s.URL + "/api/v1"
	alice, bob, g := register(t, s.server, "alice"), register(t, s.server, "bob"), guest(t, s.server, "Gus")

	expectProblem(t, subscribe(t, s.server, g.Token, push.NewSubscription()), 403, "")
	expectProblem(t, subscribe(t, s.server, "", push.NewSubscription()), 401, "")

	var subs []pushtest.Subscription
	for range 12 {
		sub := push.NewSubscription()
		subs = append(subs, sub)
		expect(t, subscribe(t, s.server, alice.Token, sub), 201)
	}
	expect(t, subscribe(t, s.server, alice.Token, subs[11]), 201) // subscribing again is fine
	moved := subs[11]
	expect(t, subscribe(t, s.server, bob.Token, moved), 201)
	expect(t, call(t, "DELETE", api+"/push/subscriptions", alice.Token, map[string]string{"endpoint": subs[10].Endpoint}), 204)
	expect(t, call(t, "DELETE", api+"/push/subscriptions", alice.Token, map[string]string{"endpoint": "https://push.example.com/never"}), 204)
	expectProblem(t, call(t, "DELETE", api+"/push/subscriptions", alice.Token, map[string]string{}), 422, "endpoint")
	// Alice cannot unsubscribe bob.
	expect(t, call(t, "DELETE", api+"/push/subscriptions", alice.Token, map[string]string{"endpoint": moved.Endpoint}), 204)

	other := login(t, s.server, "alice")
	onOther := push.NewSubscription()
	expect(t, subscribe(t, s.server, other, onOther), 201)
	expect(t, call(t, "POST", api+"/auth/logout", other, nil), 204)

	// Alice: 12 subscribed, the 2 oldest capped away, 1 moved to bob, 1 unsubscribed → 8.
	s.avatarOutcome(t, alice.ID, "up-alice", "accepted")
	push.WaitFor(t, 8, 15*time.Second)
	s.avatarOutcome(t, bob.ID, "up-bob", "rejected")
	deliveries := push.WaitFor(t, 9, 15*time.Second)
	got := map[string][]string{}
	for _, d := range deliveries {
		var p struct{ Data struct{ UploadID string } }
		if err := json.Unmarshal(d.Plaintext, &p); err != nil {
			t.Fatal(err)
		}
		got[d.Subscription.Endpoint] = append(got[d.Subscription.Endpoint], p.Data.UploadID)
	}
	want := map[string]string{moved.Endpoint: "up-bob"}
	for _, sub := range subs[2:10] {
		want[sub.Endpoint] = "up-alice"
	}
	for endpoint, ups := range got {
		if len(ups) != 1 || want[endpoint] != ups[0] {
			t.Fatalf("endpoint got %v, want [%s]; all: %v", ups, want[endpoint], got)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d endpoints got pushes, want %d", len(got), len(want))
	}
	if errs := push.ProtocolErrors(); len(errs) != 0 {
		t.Fatalf("protocol errors: %v", errs)
	}
}

func TestNotificationsInbox(t *testing.T) {
	s, _ := pushServer(t)
	api := s.URL + "/api/v1"
	alice, bob := register(t, s.server, "alice"), register(t, s.server, "bob")
	for _, up := range []string{"u1", "u2", "u3"} {
		s.avatarOutcome(t, alice.ID, up, "accepted")
	}
	s.avatarOutcome(t, alice.ID, "u3", "accepted") // a repeat is one entry

	type item struct {
		ID, Topic, Title, Body string
		Data                   struct{ UploadID, Status, ThumbnailURL string }
		CreatedAt              time.Time
		ReadAt                 *time.Time
	}
	type page struct {
		Items []item
		Next  string
	}
	var all page
	testwait.For(t, "three inbox entries", 15*time.Second, func() bool {
		all = page{}
		expect(t, call(t, "GET", api+"/notifications", alice.Token, nil), 200).decode(t, &all)
		return len(all.Items) >= 3
	})
	if len(all.Items) != 3 || all.Next != "" {
		t.Fatalf("inbox %+v, want 3 entries on one page", all)
	}
	for _, it := range all.Items {
		if it.Topic != "avatar" || it.Title == "" || it.Data.Status != "accepted" || it.ReadAt != nil || it.CreatedAt.IsZero() {
			t.Fatalf("entry %+v", it)
		}
	}
	var p1, p2 page
	expect(t, call(t, "GET", api+"/notifications?limit=2", alice.Token, nil), 200).decode(t, &p1)
	expect(t, call(t, "GET", api+"/notifications?limit=2&cursor="+p1.Next, alice.Token, nil), 200).decode(t, &p2)
	if len(p1.Items) != 2 || p1.Next == "" || len(p2.Items) != 1 || p2.Next != "" || p2.Items[0].ID == p1.Items[0].ID || p2.Items[0].ID == p1.Items[1].ID {
		t.Fatalf("pages %+v then %+v", p1, p2)
	}
	expectProblem(t, call(t, "GET", api+"/notifications?limit=0", alice.Token, nil), 422, "limit")
	expectProblem(t, call(t, "GET", api+"/notifications?cursor=%21", alice.Token, nil), 422, "cursor")

	var empty page
	expect(t, call(t, "GET", api+"/notifications", bob.Token, nil), 200).decode(t, &empty)
	if empty.Items == nil || len(empty.Items) != 0 {
		t.Fatalf("bob's inbox %s, want an empty list", call(t, "GET", api+"/notifications", bob.Token, nil).Body)
	}
	expectProblem(t, call(t, "POST", api+"/notifications/"+all.Items[0].ID+"/read", bob.Token, nil), 404, "")
	expect(t, call(t, "POST", api+"/notifications/"+all.Items[0].ID+"/read", alice.Token, nil), 204)
	var after page
	expect(t, call(t, "GET", api+"/notifications", alice.Token, nil), 200).decode(t, &after)
	if after.Items[0].ReadAt == nil || after.Items[1].ReadAt != nil {
		t.Fatalf("after marking one read: %+v", after.Items)
	}
	expect(t, call(t, "POST", api+"/notifications/read-all", alice.Token, nil), 204)
	expect(t, call(t, "GET", api+"/notifications", alice.Token, nil), 200).decode(t, &after)
	for _, it := range after.Items {
		if it.ReadAt == nil {
			t.Fatalf("unread after read-all: %+v", it)
		}
	}
	expectProblem(t, call(t, "GET", api+"/notifications", "", nil), 401, "")
}

// The end-to-end: a player in a running game uploads an avatar and learns the outcome by
// Web Push (decrypted at the push service), by an in-band frame on the game's WebSocket and in the
// inbox, and keeps answering questions throughout.
func TestAvatarOutcomeReachesPushWebSocketAndInboxWhilePlaying(t *testing.T) {
	classifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"labels":[]}`)
	}))
	defer classifier.Close()
	s := startServer(t, map[string]string{"TRIVIUM_PUSH_ALLOW_PRIVATE": "1", "TRIVIUM_MODERATION": classifier.URL})
	push := pushtest.New(t)
	var key struct{ PublicKey string }
	expect(t, call(t, "GET", s.URL+"/api/v1/push/vapid-public-key", "", nil), 200).decode(t, &key)
	push.SetVAPIDKey(t, key.PublicKey)

	host, alice := register(t, s, "host1"), register(t, s, "alice")
	sub := push.NewSubscription()
	expect(t, subscribe(t, s, alice.Token, sub), 201)

	quiz := createQuiz(t, s, host, "casual", []map[string]any{
		{"text": "2+2?", "kind": "choice", "choices": []string{"3", "4"}, "answer": 1, "timeLimitSec": 60},
		{"text": "Sky colour?", "kind": "choice", "choices": []string{"blue", "green"}, "answer": 0, "timeLimitSec": 60},
	})
	code := createGame(t, s, host, quiz)
	joinAll(t, s, code, host, alice)
	host.client.reply(host.client.send("start", struct{}{}))
	host.client.send("next", struct{}{})
	alice.client.waitFrame("question", "")

	// Alice uploads an avatar while the question is open.
	photo := corpus.JPEG(corpus.Quadrants(640, 480))
	in := presign(t, s, alice, "image/jpeg", len(photo))
	if code := putBytes(t, in.URL, in.Headers, photo); code != 200 {
		t.Fatalf("PUT %d", code)
	}
	uploaded := time.Now()

	// In-band, on the game connection.
	nf := alice.client.waitFrame("notification", "")
	var inband struct {
		Topic, Title, Body string
		Data               struct{ UploadID, Status, Reason, ThumbnailURL string }
	}
	if err := json.Unmarshal(nf.Data, &inband); err != nil {
		t.Fatal(err)
	}
	if inband.Topic != "avatar" || inband.Data.UploadID != in.UploadID || inband.Data.Status != "accepted" || inband.Title == "" {
		t.Fatalf("in-band notification %s", nf.Data)
	}
	// The game goes on.
	if f := alice.client.reply(alice.client.send("answer", map[string]any{"index": 0, "answer": 1})); f.Type != "ack" {
		t.Fatalf("answer after the notification: %s %s", f.Type, f.Data)
	}
	rv := alice.client.waitFrame("reveal", "")
	if !strings.Contains(string(rv.Data), `"correct":true`) {
		t.Fatalf("reveal %s", rv.Data)
	}

	// Out of band, decrypted by the push service with the subscription's keys.
	d := push.WaitFor(t, 1, 15*time.Second)[0]
	t.Logf("upload complete → push decrypted in %v", d.At.Sub(uploaded))
	var pushed struct {
		Topic, Title, Body string
		Data               struct{ UploadID, Status, Reason, ThumbnailURL string }
	}
	if err := json.Unmarshal(d.Plaintext, &pushed); err != nil {
		t.Fatal(err)
	}
	if pushed != inband {
		t.Fatalf("push %s differs from the in-band copy %s", d.Plaintext, nf.Data)
	}
	if d.TTL != 24*time.Hour || d.Urgency != "normal" || d.Topic != "avatar" || d.Subscription.Endpoint != sub.Endpoint {
		t.Fatalf("push TTL %v Urgency %q Topic %q", d.TTL, d.Urgency, d.Topic)
	}
	st := pollStatus(t, s, alice, in.UploadID, "accepted")
	if st.Avatar == nil || pushed.Data.ThumbnailURL != st.Avatar.ThumbnailURL {
		t.Fatalf("pushed thumbnail %q, status says %+v", pushed.Data.ThumbnailURL, st.Avatar)
	}

	// In the inbox.
	var inbox struct {
		Items []struct {
			Topic string
			Data  struct{ UploadID string }
		}
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/notifications", alice.Token, nil), 200).decode(t, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0].Topic != "avatar" || inbox.Items[0].Data.UploadID != in.UploadID {
		t.Fatalf("inbox %+v", inbox)
	}

	// And the next question is answered as usual.
	host.client.send("next", struct{}{})
	alice.client.waitFrame("question", "")
	if f := alice.client.reply(alice.client.send("answer", map[string]any{"index": 1, "answer": 0})); f.Type != "ack" {
		t.Fatalf("next answer: %s %s", f.Type, f.Data)
	}
	if errs := push.ProtocolErrors(); len(errs) != 0 {
		t.Fatalf("protocol errors: %v", errs)
	}
}
