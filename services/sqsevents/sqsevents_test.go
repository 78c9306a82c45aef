package sqsevents

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// eventBridgeBody is an S3 "Object Created" event as EventBridge delivers it to an SQS target.
func eventBridgeBody(bucket, key string, size int64, etag string) string {
	return `{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"Object Created",
	"source":"aws.s3","account":"123456789012","time":"2026-05-01T12:00:00Z","region":"eu-west-1",
	"resources":["arn:aws:s3:::` + bucket + `"],
	"detail":{"version":"0","bucket":{"name":"` + bucket + `"},
	"object":{"key":"` + key + `","size":` + itoa(size) + `,"etag":"` + etag + `","sequencer":"00617F08299329D189"},
	"request-id":"N4N7GDK58NMKJ12R","requester":"123456789012","source-ip-address":"1.2.3.4","reason":"PutObject"}}`
}

// s3NotificationBody is a classic S3 event notification (bucket → SQS directly).
func s3NotificationBody(bucket, encodedKey string, size int64, etag string) string {
	return `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1",
	"eventTime":"2026-05-01T12:00:00.000Z","eventName":"ObjectCreated:Put",
	"s3":{"s3SchemaVersion":"1.0","configurationId":"uploads","bucket":{"name":"` + bucket + `",
	"arn":"arn:aws:s3:::` + bucket + `"},"object":{"key":"` + encodedKey + `","size":` + itoa(size) + `,
	"eTag":"` + etag + `","sequencer":"0A1B2C3D4E5F678901"}}}]}`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// running starts c.Run in the background; stop cancels it and returns Run's result, failing
// the test if Run does not return promptly.
func running(t *testing.T, c *Consumer, h Handler) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx, h) }()
	stop = func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return stop, errc
}

type recorder struct {
	mu  sync.Mutex
	got []ObjectCreated
}

func (r *recorder) handle(_ context.Context, ev ObjectCreated) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
	return nil
}

func (r *recorder) events() []ObjectCreated {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func TestHandledEventsAreLongPolledAndDeletedInOneBatch(t *testing.T) {
	f := newFakeSQS(t)
	f.send("m1", eventBridgeBody("trivium-uploads", "uploads/p1/u1", 1024, "d41d8cd98f00b204e9800998ecf8427e"))
	f.send("m2", s3NotificationBody("trivium-uploads", "uploads/p2/my+photo%281%29.jpg", 2048, "9e107d9d372bb6826bd81d3542a419d6"))
	f.send("m3", `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-05-01T12:00:00.000Z","Bucket":"trivium-uploads","RequestId":"X","HostId":"Y"}`)
	rec := &recorder{}
	stop, _ := running(t, f.consumer(t, Config{}), rec.handle)

	f.waitFor(t, "all three messages deleted", func() bool { return len(f.msgs) == 0 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := rec.events()
	slices.SortFunc(got, func(a, b ObjectCreated) int { return strings.Compare(a.Key, b.Key) })
	want := []ObjectCreated{
		{Bucket: "trivium-uploads", Key: "uploads/p1/u1", Size: 1024, ETag: "d41d8cd98f00b204e9800998ecf8427e"},
		{Bucket: "trivium-uploads", Key: "uploads/p2/my photo(1).jpg", Size: 2048, ETag: "9e107d9d372bb6826bd81d3542a419d6"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("handled %+v, want %+v", got, want)
	}
	f.read(func() {
		if len(f.deletes) != 1 || !slices.Equal(f.deletes[0], []string{"m1", "m2", "m3"}) {
			t.Errorf("DeleteMessageBatch calls %v, want one with m1 m2 m3 (the test event needs no work)", f.deletes)
		}
		r := f.receives[0]
		if r.WaitTimeSeconds != 20 || r.MaxNumberOfMessages != 10 || r.VisibilityTimeout != 60 ||
			!slices.Contains(r.MessageSystemAttributeNames, "ApproximateReceiveCount") {
			t.Errorf("ReceiveMessage %+v, want a 20 s long poll of up to 10 with a 60 s visibility timeout", r)
		}
	})
}

func TestVisibilityIsExtendedWhileTheHandlerWorks(t *testing.T) {
	f := newFakeSQS(t)
	f.send("slow", eventBridgeBody("b", "uploads/p/slow", 1, "e"))
	c := f.consumer(t, Config{VisibilityTimeout: 45 * time.Second, ExtendEvery: 5 * time.Millisecond})
	stop, _ := running(t, c, func(ctx context.Context, ev ObjectCreated) error {
		// Work until the queue has seen the message's visibility renewed twice.
		f.waitFor(t, "two visibility extensions", func() bool { return len(f.visibility["slow"]) >= 2 })
		return nil
	})
	f.waitFor(t, "the slow message deleted", func() bool { return !f.inQueue("slow") })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.read(func() {
		for _, v := range f.visibility["slow"] {
			if v != 45 {
				t.Fatalf("visibility extended to %v s, want 45 each time", f.visibility["slow"])
			}
		}
	})
}

func TestPoisonMessagesAreNeverDeletedAndReachTheDeadLetterQueue(t *testing.T) {
	f := newFakeSQS(t)
	f.send("garbage", "this is not JSON")
	f.send("alien", `{"hello":"world"}`)
	f.send("failing", eventBridgeBody("b", "uploads/p/failing", 1, "e"))
	f.send("fine", eventBridgeBody("b", "uploads/p/fine", 1, "e"))
	var mu sync.Mutex
	attempts := 0
	stop, _ := running(t, f.consumer(t, Config{}), func(ctx context.Context, ev ObjectCreated) error {
		if ev.Key != "uploads/p/failing" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		attempts++
		return errors.New("database is down")
	})

	// The good message is deleted with the first batch; only then may time jump (a jump while
	// it is being worked would expire its receipt, which visibility extension normally prevents).
	f.waitFor(t, "the good message deleted", func() bool { return !f.inQueue("fine") })
	// Let the visibility timeout lapse each time the consumer is back to long polling, until the
	// queue's redrive policy has moved all three to the dead-letter queue.
	polls := 0
	for i := 0; ; i++ {
		var dead bool
		f.read(func() { dead = f.inDLQ("garbage") && f.inDLQ("alien") && f.inDLQ("failing") })
		if dead {
			break
		}
		if i > 10 {
			t.Fatal("poison messages never reached the dead-letter queue")
		}
		f.waitFor(t, "the consumer long polling an empty queue", func() bool { return f.polls > polls && f.waiting > 0 })
		f.read(func() { polls = f.polls })
		f.advance(61 * time.Second)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.read(func() {
		for _, ids := range f.deletes {
			if slices.Contains(ids, "garbage") || slices.Contains(ids, "alien") || slices.Contains(ids, "failing") {
				t.Fatalf("a poison message was deleted: %v", f.deletes)
			}
		}
		if f.inQueue("fine") || f.inDLQ("fine") {
			t.Fatal("the good message was not deleted")
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if attempts != f.maxReceiveCount {
		t.Fatalf("failing handler ran %d times, want maxReceiveCount = %d", attempts, f.maxReceiveCount)
	}
}

func TestThrottledReceiveIsRetriedBySDK(t *testing.T) {
	f := newFakeSQS(t)
	f.fail("ReceiveMessage", 400, "com.amazonaws.sqs#RequestThrottled", "RequestThrottled;Sender")
	f.send("m1", eventBridgeBody("b", "uploads/p/u", 1, "e"))
	rec := &recorder{}
	// An hour's back-off of its own: only the SDK's retries can get the message through in time.
	stop, _ := running(t, f.consumer(t, Config{ReceiveBackoff: time.Hour}), rec.handle)
	f.waitFor(t, "the message handled and deleted", func() bool { return !f.inQueue("m1") })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := rec.events(); len(got) != 1 || got[0].Key != "uploads/p/u" {
		t.Fatalf("handled %+v", got)
	}
	f.read(func() {
		if f.calls["ReceiveMessage"] < 2 {
			t.Fatalf("%d ReceiveMessage requests, want the throttled one retried", f.calls["ReceiveMessage"])
		}
	})
}

func TestAdaptiveRetryClientRetriesThrottling(t *testing.T) {
	f := newFakeSQS(t)
	f.fail("ReceiveMessage", 400, "com.amazonaws.sqs#RequestThrottled", "RequestThrottled;Sender")
	f.send("m1", eventBridgeBody("b", "uploads/p/u", 1, "e"))
	c := f.consumer(t, Config{AdaptiveRetry: true})
	msgs, err := c.receive(context.Background(), 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive = %d messages, %v; want the message after a retry", len(msgs), err)
	}
	f.read(func() {
		if f.calls["ReceiveMessage"] != 2 {
			t.Fatalf("%d ReceiveMessage requests, want 2", f.calls["ReceiveMessage"])
		}
	})
}

func TestAccessDeniedIsReturnedByRun(t *testing.T) {
	f := newFakeSQS(t)
	f.fail("ReceiveMessage", 400, "com.amazon.coral.service#AccessDeniedException", "AccessDenied;Sender")
	f.send("m1", eventBridgeBody("b", "uploads/p/u", 1, "e"))
	_, done := running(t, f.consumer(t, Config{}), (&recorder{}).handle)
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept going after access denied")
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Fatalf("Run = %v, want the AccessDenied API error", err)
	}
	if !strings.Contains(err.Error(), testQueue) {
		t.Fatalf("error %q does not name the queue", err)
	}
	f.read(func() {
		if f.calls["ReceiveMessage"] != 1 || !f.inQueue("m1") {
			t.Fatalf("access denied was retried (%d ReceiveMessage requests)", f.calls["ReceiveMessage"])
		}
	})
}

func TestPartialDeleteFailureRetriesOnlyServerSideFailures(t *testing.T) {
	f := newFakeSQS(t)
	f.send("ok", eventBridgeBody("b", "uploads/p/ok", 1, "e"))
	f.send("flaky", eventBridgeBody("b", "uploads/p/flaky", 1, "e"))
	f.send("expired", eventBridgeBody("b", "uploads/p/expired", 1, "e"))
	f.failDelete("flaky", "InternalError", false)
	f.failDelete("expired", "ReceiptHandleIsInvalid", true)
	stop, _ := running(t, f.consumer(t, Config{}), (&recorder{}).handle)
	f.waitFor(t, "two DeleteMessageBatch calls", func() bool { return len(f.deletes) >= 2 && !f.inQueue("flaky") })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.read(func() {
		want := [][]string{{"expired", "flaky", "ok"}, {"flaky"}}
		if len(f.deletes) != 2 || !slices.Equal(f.deletes[0], want[0]) || !slices.Equal(f.deletes[1], want[1]) {
			t.Fatalf("DeleteMessageBatch calls %v, want %v", f.deletes, want)
		}
		if !f.inQueue("expired") {
			t.Fatal("the entry refused as the sender's fault vanished")
		}
	})
}

func TestRunStopsOnCancelAndReleasesInterruptedMessages(t *testing.T) {
	f := newFakeSQS(t)
	f.send("m1", eventBridgeBody("b", "uploads/p/u", 1, "e"))
	started := make(chan struct{})
	stop, _ := running(t, f.consumer(t, Config{}), func(ctx context.Context, ev ObjectCreated) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("handler never started")
	}
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	f.read(func() {
		if !f.inQueue("m1") || !slices.Equal(f.visibility["m1"], []int32{0}) {
			t.Fatalf("interrupted message: in queue %v, visibility changes %v; want kept and released (0)", f.inQueue("m1"), f.visibility["m1"])
		}
		if len(f.deletes) != 0 {
			t.Fatalf("deleted %v", f.deletes)
		}
	})
}

func TestWorkersBoundConcurrentHandlers(t *testing.T) {
	f := newFakeSQS(t)
	for i := range 6 {
		f.send("m"+itoa(int64(i)), eventBridgeBody("b", "uploads/p/"+itoa(int64(i)), 1, "e"))
	}
	var mu sync.Mutex
	running2, peak, total := 0, 0, 0
	release := make(chan struct{})
	stop, _ := running(t, f.consumer(t, Config{Workers: 2}), func(ctx context.Context, ev ObjectCreated) error {
		mu.Lock()
		running2++
		total++
		peak = max(peak, running2)
		mu.Unlock()
		<-release
		mu.Lock()
		running2--
		mu.Unlock()
		return nil
	})
	f.waitFor(t, "two messages in flight and no more asked for", func() bool {
		return len(f.receives) >= 1 && f.receives[0].MaxNumberOfMessages == 2
	})
	close(release)
	f.waitFor(t, "all six deleted", func() bool { return len(f.msgs) == 0 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak > 2 || total != 6 {
		t.Fatalf("peak %d concurrent handlers (want ≤ 2), %d handled (want 6)", peak, total)
	}
}
