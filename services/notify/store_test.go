package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
	"github.com/trivium-game/trivium/services/webpush"
	"github.com/trivium-game/trivium/services/webpush/pushtest"
)

// TestStore runs the same behaviours on SQLite and PostgreSQL: the SQL is meant to be portable.
func TestStore(t *testing.T) {
	for _, d := range sqltest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			for _, c := range []struct {
				name string
				test func(*testing.T, *sqlstore.NotifyStore, *clock, *pushtest.Server)
			}{
				{"SubscriptionMovesToTheLatestPlayer", testSubscriptionMoves},
				{"CapDropsTheOldestSubscriptions", testSubscriptionCap},
				{"EndingASessionDeletesOnlyItsSubscriptions", testSessionSubscriptions},
				{"RepeatedSourceWritesOneEntryAndNoNewDeliveries", testNotificationIdempotent},
				{"InboxPagesNewestFirstAndMarksRead", testInboxPaging},
				{"ClaimIsExclusiveUntilTheLeaseEnds", testClaimLease},
				{"DeliveryToAMovedEndpointHasNoSubscription", testMovedEndpointDelivery},
			} {
				t.Run(c.name, func(t *testing.T) {
					clk := newClock()
					c.test(t, newStore(t, d, clk.Now), clk, pushtest.New(t))
				})
			}
		})
	}
}

func endpoints(t *testing.T, s *sqlstore.NotifyStore, playerID string) []string {
	t.Helper()
	subs, err := s.Subscriptions(context.Background(), playerID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sub := range subs {
		out = append(out, sub.Endpoint)
	}
	return out
}

func testSubscriptionMoves(t *testing.T, s *sqlstore.NotifyStore, clk *clock, push *pushtest.Server) {
	ctx := context.Background()
	sub := webpush.Subscription(push.NewSubscription())
	if err := s.SaveSubscription(ctx, "alice", "sa", sub, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSubscription(ctx, "alice", "sa", sub, 10); err != nil {
		t.Fatal(err)
	}
	if got := endpoints(t, s, "alice"); len(got) != 1 {
		t.Fatalf("alice has %d subscriptions after saving one twice, want 1", len(got))
	}
	clk.Advance(time.Millisecond)
	if err := s.SaveSubscription(ctx, "bob", "sb", sub, 10); err != nil {
		t.Fatal(err)
	}
	if got := endpoints(t, s, "alice"); len(got) != 0 {
		t.Fatalf("alice still has %v after bob registered the endpoint", got)
	}
	subs, err := s.Subscriptions(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].Endpoint != sub.Endpoint || subs[0].SessionID != "sb" || subs[0].Keys.Auth != sub.Keys.Auth {
		t.Fatalf("bob's subscriptions %+v", subs)
	}
	// Alice cannot unsubscribe what is now bob's.
	if err := s.DeleteSubscription(ctx, "alice", sub.Endpoint); err != nil {
		t.Fatal(err)
	}
	if got := endpoints(t, s, "bob"); len(got) != 1 {
		t.Fatalf("alice removed bob's subscription")
	}
	if err := s.DeleteSubscription(ctx, "bob", sub.Endpoint); err != nil {
		t.Fatal(err)
	}
	if got := endpoints(t, s, "bob"); len(got) != 0 {
		t.Fatalf("bob's unsubscribe left %v", got)
	}
}

func testSubscriptionCap(t *testing.T, s *sqlstore.NotifyStore, clk *clock, push *pushtest.Server) {
	ctx := context.Background()
	var all []string
	for range 12 {
		sub := webpush.Subscription(push.NewSubscription())
		all = append(all, sub.Endpoint)
		if err := s.SaveSubscription(ctx, "alice", "sa", sub, 10); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Millisecond)
	}
	got := endpoints(t, s, "alice")
	if len(got) != 10 {
		t.Fatalf("alice has %d subscriptions, want the cap of 10", len(got))
	}
	for i, e := range got { // newest first
		if want := all[11-i]; e != want {
			t.Fatalf("subscription %d is %s, want %s: the two oldest should be dropped", i, e, want)
		}
	}
	// Saved within one millisecond, they still drop oldest first.
	var burst []string
	for range 10 {
		sub := webpush.Subscription(push.NewSubscription())
		burst = append(burst, sub.Endpoint)
		if err := s.SaveSubscription(ctx, "alice", "sa", sub, 10); err != nil {
			t.Fatal(err)
		}
		if got := endpoints(t, s, "alice"); len(got) != 10 || got[0] != sub.Endpoint {
			t.Fatalf("after saving %s: %v", sub.Endpoint, got)
		}
	}
	got = endpoints(t, s, "alice")
	for i, e := range got {
		if e != burst[9-i] {
			t.Fatalf("subscriptions %v, want the burst newest first %v", got, burst)
		}
	}
}

func testSessionSubscriptions(t *testing.T, s *sqlstore.NotifyStore, clk *clock, push *pushtest.Server) {
	ctx := context.Background()
	a1, a2 := webpush.Subscription(push.NewSubscription()), webpush.Subscription(push.NewSubscription())
	for _, x := range []struct {
		sub     webpush.Subscription
		session string
	}{{a1, "s1"}, {a2, "s2"}} {
		if err := s.SaveSubscription(ctx, "alice", x.session, x.sub, 10); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteSessionSubscriptions(ctx, "s1")
	if err != nil || n != 1 {
		t.Fatalf("deleted %d (%v), want 1", n, err)
	}
	if got := endpoints(t, s, "alice"); len(got) != 1 || got[0] != a2.Endpoint {
		t.Fatalf("after logout of s1 alice has %v, want only the other session's", got)
	}
}

func testNotificationIdempotent(t *testing.T, s *sqlstore.NotifyStore, clk *clock, push *pushtest.Server) {
	ctx := context.Background()
	for range 3 {
		if err := s.SaveSubscription(ctx, "alice", "sa", webpush.Subscription(push.NewSubscription()), 10); err != nil {
			t.Fatal(err)
		}
	}
	first, created, err := s.AddNotification(ctx, "avatar.processed:u1", &notify.Notification{PlayerID: "alice", Topic: "avatar",
		Title: "t", Body: "b", Data: []byte(`{"uploadId":"u1"}`), TTL: time.Hour, Urgency: "normal", PushTopic: "avatar"})
	if err != nil || !created {
		t.Fatalf("first add: created %v err %v", created, err)
	}
	// A subscription added later does not get a delivery from a repeated event.
	if err := s.SaveSubscription(ctx, "alice", "sa", webpush.Subscription(push.NewSubscription()), 10); err != nil {
		t.Fatal(err)
	}
	again, created, err := s.AddNotification(ctx, "avatar.processed:u1", &notify.Notification{PlayerID: "alice", Topic: "avatar",
		Title: "other", Body: "b", TTL: time.Hour})
	if err != nil || created {
		t.Fatalf("second add: created %v err %v", created, err)
	}
	if again.ID != first.ID || again.Title != "t" || string(again.Data) != `{"uploadId":"u1"}` || again.TTL != time.Hour || again.PushTopic != "avatar" {
		t.Fatalf("second add returned %+v, want the stored %+v", again, first)
	}
	items, _, err := s.Notifications(ctx, "alice", "", 10)
	if err != nil || len(items) != 1 {
		t.Fatalf("inbox has %d entries (%v), want 1", len(items), err)
	}
	ds, err := s.Deliveries(ctx, first.ID)
	if err != nil || len(ds) != 3 {
		t.Fatalf("%d deliveries (%v), want one per subscription at the time: 3", len(ds), err)
	}
	for _, d := range ds {
		if d.Status != notify.StatusPending || d.Attempts != 0 {
			t.Fatalf("new delivery %+v", d)
		}
	}
}

func testInboxPaging(t *testing.T, s *sqlstore.NotifyStore, clk *clock, push *pushtest.Server) {
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		n, _, err := s.AddNotification(ctx, fmt.Sprintf("src-%d", i), &notify.Notification{PlayerID: "alice", Topic: "avatar", Title: fmt.Sprint(i), TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
		if i != 2 { // two entries share a millisecond: the cursor must still not skip or repeat
			clk.Advance(time.Millisecond)
		}
	}
	if _, _, err := s.AddNotification(ctx, "bob-src", &notify.Notification{PlayerID: "bob", Topic: "avatar", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		items, next, err := s.Notifications(ctx, "alice", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			seen = append(seen, it.Title)
			if it.ReadAt != nil {
				t.Fatalf("new entry already read: %+v", it)
			}
		}
		if next == "" {
			break
		}
		cursor = next
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	// 2 and 3 share a millisecond, so either may come first.
	if g := fmt.Sprint(seen); g != "[4 3 2 1 0]" && g != "[4 2 3 1 0]" {
		t.Fatalf("pages gave %v, want each entry once, newest first", seen)
	}
	if _, _, err := s.Notifications(ctx, "alice", "not-a-cursor!", 2); services.ErrorCode(err) != services.EInvalid {
		t.Fatalf("bad cursor: %v, want invalid", err)
	}

	if err := s.MarkRead(ctx, "bob", ids[0]); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("bob marking alice's entry: %v, want not_found", err)
	}
	readAt := clk.Now()
	if err := s.MarkRead(ctx, "alice", ids[0]); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := s.MarkRead(ctx, "alice", ids[0]); err != nil {
		t.Fatal(err)
	}
	n, err := s.MarkAllRead(ctx, "alice")
	if err != nil || n != 4 {
		t.Fatalf("mark all read marked %d (%v), want the 4 unread", n, err)
	}
	items, _, _ := s.Notifications(ctx, "alice", "", 10)
	for _, it := range items {
		if it.ReadAt == nil {
			t.Fatalf("%s unread after read-all", it.ID)
		}
		if it.ID == ids[0] && !it.ReadAt.Equal(readAt) {
			t.Fatalf("first read time %v changed to %v", readAt, it.ReadAt)
		}
	}
	if bob, _, _ := s.Notifications(ctx, "bob", "", 10); len(bob) != 1 || bob[0].ReadAt != nil {
		t.Fatalf("alice's read-all touched bob's inbox: %+v", bob)
	}
}

func addWithDelivery(t *testing.T, s *sqlstore.NotifyStore, push *pushtest.Server, playerID, source string) (notify.DeliveryKey, webpush.Subscription) {
	t.Helper()
	ctx := context.Background()
	sub := webpush.Subscription(push.NewSubscription())
	if err := s.SaveSubscription(ctx, playerID, "s-"+playerID, sub, 10); err != nil {
		t.Fatal(err)
	}
	n, _, err := s.AddNotification(ctx, source, &notify.Notification{PlayerID: playerID, Topic: "avatar", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return notify.DeliveryKey{NotificationID: n.ID, Endpoint: sub.Endpoint}, sub
}

func testClaimLease(t *testing.T, s *sqlstore.NotifyStore, clk *clock, push *pushtest.Server) {
	ctx := context.Background()
	k, sub := addWithDelivery(t, s, push, "alice", "src")
	due, err := s.DueDeliveries(ctx, 10)
	if err != nil || len(due) != 1 || due[0] != k {
		t.Fatalf("due %v (%v), want %v", due, err, k)
	}
	d, ok, err := s.ClaimDelivery(ctx, k, time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim: ok %v err %v", ok, err)
	}
	if d.Subscription == nil || d.Subscription.Keys.P256dh != sub.Keys.P256dh || d.Notification.PlayerID != "alice" || d.Attempts != 0 {
		t.Fatalf("claimed %+v", d)
	}
	if _, ok, _ := s.ClaimDelivery(ctx, k, time.Minute); ok {
		t.Fatal("a claimed delivery was claimed again")
	}
	if due, _ := s.DueDeliveries(ctx, 10); len(due) != 0 {
		t.Fatalf("claimed delivery listed as due: %v", due)
	}
	// A sender that died keeps the delivery only until its lease ends.
	clk.Advance(time.Minute)
	if _, ok, _ := s.ClaimDelivery(ctx, k, time.Minute); !ok {
		t.Fatal("an expired claim was not taken over")
	}
	if err := s.RetryDelivery(ctx, k, clk.Now().Add(10*time.Second), 503, "busy"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ClaimDelivery(ctx, k, time.Minute); ok {
		t.Fatal("claimed before its retry time")
	}
	clk.Advance(10 * time.Second)
	d, ok, _ = s.ClaimDelivery(ctx, k, time.Minute)
	if !ok || d.Attempts != 1 {
		t.Fatalf("claim at retry time: ok %v delivery %+v", ok, d)
	}
	if err := s.GoneDelivery(ctx, k, sub, 410, "gone"); err != nil {
		t.Fatal(err)
	}
	if got := endpoints(t, s, "alice"); len(got) != 0 {
		t.Fatalf("gone subscription kept: %v", got)
	}
	ds, _ := s.Deliveries(ctx, k.NotificationID)
	if len(ds) != 1 || ds[0].Status != notify.StatusGone || ds[0].Attempts != 2 || ds[0].LastStatus != 410 {
		t.Fatalf("deliveries %+v", ds)
	}
	if _, ok, _ := s.ClaimDelivery(ctx, k, time.Minute); ok {
		t.Fatal("a finished delivery was claimed")
	}
	clk.Advance(time.Hour)
	if n, err := s.PruneDeliveries(ctx, clk.Now().Add(-time.Minute)); err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want the finished one", n, err)
	}
}

func testMovedEndpointDelivery(t *testing.T, s *sqlstore.NotifyStore, clk *clock, push *pushtest.Server) {
	ctx := context.Background()
	k, sub := addWithDelivery(t, s, push, "alice", "src")
	if err := s.SaveSubscription(ctx, "bob", "sb", sub, 10); err != nil {
		t.Fatal(err)
	}
	d, ok, err := s.ClaimDelivery(ctx, k, time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if d.Subscription != nil {
		t.Fatalf("alice's notification would go to bob's endpoint: %+v", d.Subscription)
	}
}
