package sqsevents

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testRegion = "eu-west-1"
	testKey    = "AKIDTRIVIUMTEST"
	testSecret = "trivium-test-secret"
	testQueue  = "/123456789012/trivium-uploads"
)

// fakeSQS speaks the AWS JSON 1.0 protocol of Amazon SQS (X-Amz-Target: AmazonSQS.<Operation>,
// Content-Type: application/x-amz-json-1.0) for ReceiveMessage, DeleteMessageBatch and
// ChangeMessageVisibility. It recomputes every request's SigV4 signature with the secret key,
// keeps a queue with visibility timeouts on a clock the test advances, receive counts and a
// redrive policy (maxReceiveCount → dead-letter queue), and answers errors the test queues.
type fakeSQS struct {
	t               *testing.T
	url             string
	maxReceiveCount int

	mu       sync.Mutex
	now      time.Time
	msgs     []*fakeMsg
	dlq      []*fakeMsg
	handles  int
	changed  chan struct{} // closed and replaced on every change, to wake long polls
	waiting  int           // receives blocked in a long poll
	polls    int           // times a receive found nothing visible and started waiting
	failures map[string][]apiFailure
	// deleteFailures answers one failed DeleteMessageBatch entry per listed message id.
	deleteFailures map[string]batchFailure
	receives       []receiveRequest
	deletes        [][]string // message ids per DeleteMessageBatch call
	visibility     map[string][]int32
	calls          map[string]int // requests per operation, failed ones included
}

type fakeMsg struct {
	id, body       string
	receiveCount   int
	handle         string
	invisibleUntil time.Time
}

type apiFailure struct {
	status          int
	typ, queryError string
}

type batchFailure struct {
	code        string
	senderFault bool
}

type receiveRequest struct {
	QueueUrl                    string
	MaxNumberOfMessages         int32
	WaitTimeSeconds             int32
	VisibilityTimeout           int32
	MessageSystemAttributeNames []string
}

func newFakeSQS(t *testing.T) *fakeSQS {
	f := &fakeSQS{t: t, maxReceiveCount: 3, now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		changed: make(chan struct{}), failures: map[string][]apiFailure{}, deleteFailures: map[string]batchFailure{},
		visibility: map[string][]int32{}, calls: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// consumer builds a Consumer the production way (NewClient: adaptive retryer, static keys)
// pointed at the fake, with the retryer's back-off capped so retries take milliseconds.
func (f *fakeSQS) consumer(t *testing.T, cfg Config) *Consumer {
	t.Helper()
	cfg.QueueURL = f.url + testQueue
	cfg.Region = testRegion
	cfg.Endpoint = f.url
	cfg.AccessKey, cfg.SecretKey = testKey, testSecret
	cfg.RetryMaxBackoff = time.Millisecond
	client, err := NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeSQS) wakeLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeSQS) send(id, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, &fakeMsg{id: id, body: body})
	f.wakeLocked()
}

// advance moves the queue's clock, so visibility timeouts lapse.
func (f *fakeSQS) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.wakeLocked()
}

func (f *fakeSQS) fail(op string, status int, typ, queryError string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[op] = append(f.failures[op], apiFailure{status, typ, queryError})
}

func (f *fakeSQS) failDelete(msgID, code string, senderFault bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleteFailures[msgID] = batchFailure{code, senderFault}
}

// read runs fn under the lock, for the test's waits and checks.
func (f *fakeSQS) read(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeSQS) inQueue(id string) bool {
	for _, m := range f.msgs {
		if m.id == id {
			return true
		}
	}
	return false
}

func (f *fakeSQS) inDLQ(id string) bool {
	for _, m := range f.dlq {
		if m.id == id {
			return true
		}
	}
	return false
}

func (f *fakeSQS) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client gave up mid-request (Run cancelled): nothing arrived to check
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		f.t.Errorf("request is %s %s, want POST /", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.0" {
		f.t.Errorf("Content-Type = %q, want application/x-amz-json-1.0", got)
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok {
		f.t.Errorf("X-Amz-Target = %q, want AmazonSQS.<Operation>", r.Header.Get("X-Amz-Target"))
	}
	if !f.checkSignature(r, body) {
		writeError(w, http.StatusBadRequest, "com.amazon.coral.service#IncompleteSignatureException", "IncompleteSignature;Sender")
		return
	}
	var in struct{ QueueUrl string }
	if err := json.Unmarshal(body, &in); err != nil {
		f.t.Errorf("%s body %q is not JSON: %v", op, body, err)
	}
	if in.QueueUrl != f.url+testQueue {
		f.t.Errorf("%s QueueUrl = %q", op, in.QueueUrl)
	}

	f.mu.Lock()
	f.calls[op]++
	if fs := f.failures[op]; len(fs) > 0 {
		f.failures[op] = fs[1:]
		f.mu.Unlock()
		writeError(w, fs[0].status, fs[0].typ, fs[0].queryError)
		return
	}
	f.mu.Unlock()

	switch op {
	case "ReceiveMessage":
		f.receive(w, r, body)
	case "DeleteMessageBatch":
		f.deleteBatch(w, body)
	case "ChangeMessageVisibility":
		f.changeVisibility(w, body)
	default:
		f.t.Errorf("unexpected operation %q", op)
		writeError(w, http.StatusBadRequest, "com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation;Sender")
	}
}

func (f *fakeSQS) receive(w http.ResponseWriter, r *http.Request, body []byte) {
	var in receiveRequest
	if err := json.Unmarshal(body, &in); err != nil {
		f.t.Errorf("ReceiveMessage body: %v", err)
	}
	f.mu.Lock()
	f.receives = append(f.receives, in)
	for {
		var out []*fakeMsg
		kept := f.msgs[:0]
		for _, m := range f.msgs {
			visible := !m.invisibleUntil.After(f.now)
			switch {
			case visible && m.receiveCount >= f.maxReceiveCount:
				f.dlq = append(f.dlq, m) // the redrive policy
				continue
			case visible && int32(len(out)) < in.MaxNumberOfMessages:
				m.receiveCount++
				f.handles++
				m.handle = fmt.Sprintf("rh-%s-%d", m.id, f.handles)
				m.invisibleUntil = f.now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
				out = append(out, m)
			}
			kept = append(kept, m)
		}
		f.msgs = kept
		if len(out) > 0 {
			type msg struct {
				MessageId, ReceiptHandle, MD5OfBody, Body string
				Attributes                                map[string]string
			}
			resp := struct{ Messages []msg }{}
			for _, m := range out {
				sum := md5.Sum([]byte(m.body))
				resp.Messages = append(resp.Messages, msg{m.id, m.handle, hex.EncodeToString(sum[:]), m.body,
					map[string]string{"ApproximateReceiveCount": fmt.Sprint(m.receiveCount)}})
			}
			f.mu.Unlock()
			writeJSON(w, resp)
			return
		}
		// Long poll: wait for a change or for the client to give up (SQS would answer empty
		// after WaitTimeSeconds; the consumer cancels its poll on shutdown).
		f.waiting++
		f.polls++
		f.wakeLocked()
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-r.Context().Done():
		}
		f.mu.Lock()
		f.waiting--
		if r.Context().Err() != nil {
			f.mu.Unlock()
			return
		}
	}
}

func (f *fakeSQS) deleteBatch(w http.ResponseWriter, body []byte) {
	var in struct {
		Entries []struct{ Id, ReceiptHandle string }
	}
	if err := json.Unmarshal(body, &in); err != nil {
		f.t.Errorf("DeleteMessageBatch body: %v", err)
	}
	type okEntry struct{ Id string }
	type failEntry struct {
		Id, Code, Message string
		SenderFault       bool
	}
	resp := struct {
		Successful []okEntry
		Failed     []failEntry
	}{Successful: []okEntry{}, Failed: []failEntry{}}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, e := range in.Entries {
		i := slices.IndexFunc(f.msgs, func(m *fakeMsg) bool { return m.handle == e.ReceiptHandle })
		if i < 0 {
			resp.Failed = append(resp.Failed, failEntry{e.Id, "ReceiptHandleIsInvalid", "The input receipt handle is invalid.", true})
			continue
		}
		m := f.msgs[i]
		ids = append(ids, m.id)
		if bf, ok := f.deleteFailures[m.id]; ok {
			delete(f.deleteFailures, m.id)
			resp.Failed = append(resp.Failed, failEntry{e.Id, bf.code, "injected by the test", bf.senderFault})
			continue
		}
		f.msgs = slices.Delete(f.msgs, i, i+1)
		resp.Successful = append(resp.Successful, okEntry{e.Id})
	}
	slices.Sort(ids)
	f.deletes = append(f.deletes, ids)
	f.wakeLocked()
	writeJSON(w, resp)
}

func (f *fakeSQS) changeVisibility(w http.ResponseWriter, body []byte) {
	var in struct {
		ReceiptHandle     string
		VisibilityTimeout int32
	}
	if err := json.Unmarshal(body, &in); err != nil {
		f.t.Errorf("ChangeMessageVisibility body: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.msgs, func(m *fakeMsg) bool { return m.handle == in.ReceiptHandle })
	if i < 0 {
		writeError(w, http.StatusBadRequest, "com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid;Sender")
		return
	}
	m := f.msgs[i]
	m.invisibleUntil = f.now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
	f.visibility[m.id] = append(f.visibility[m.id], in.VisibilityTimeout)
	f.wakeLocked()
	writeJSON(w, struct{}{})
}

// writeError answers the way SQS's JSON protocol does: a __type naming the error shape, and
// for query compatibility the x-amzn-query-error header "Code;Sender|Receiver".
func writeError(w http.ResponseWriter, status int, typ, queryError string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-RequestId", "5c3b2a10-0000-4000-8000-000000000000")
	if queryError != "" {
		w.Header().Set("X-Amzn-Query-Error", queryError)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": "injected by the test"})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-RequestId", "5c3b2a10-0000-4000-8000-000000000001")
	_ = json.NewEncoder(w).Encode(v)
}

// checkSignature re-signs a copy of the request carrying only the signed headers with the
// known secret; a valid signature comes out identical.
func (f *fakeSQS) checkSignature(r *http.Request, body []byte) bool {
	auth := r.Header.Get("Authorization")
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		f.t.Errorf("X-Amz-Date: %v", err)
		return false
	}
	scope := "Credential=" + testKey + "/" + signedAt.Format("20060102") + "/" + testRegion + "/sqs/aws4_request"
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, scope) {
		f.t.Errorf("Authorization %q is not SigV4 with scope %s", auth, scope)
		return false
	}
	var signed []string
	for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ", ") {
		if v, ok := strings.CutPrefix(part, "SignedHeaders="); ok {
			signed = strings.Split(v, ";")
		}
	}
	for _, h := range []string{"host", "x-amz-date", "x-amz-target", "content-type"} {
		if !slices.Contains(signed, h) {
			f.t.Errorf("SignedHeaders %v must cover %s", signed, h)
			return false
		}
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range signed {
		if h != "host" && h != "content-length" {
			again.Header.Set(h, r.Header.Get(h))
		}
	}
	again.ContentLength = r.ContentLength
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret},
		again, hex.EncodeToString(sum[:]), "sqs", testRegion, signedAt)
	if err != nil {
		f.t.Errorf("re-sign: %v", err)
		return false
	}
	if got := again.Header.Get("Authorization"); got != auth {
		f.t.Errorf("signature does not verify:\n sent %s\n want %s", auth, got)
		return false
	}
	return true
}

// waitFor polls cond (run under the fake's lock) until it holds or the deadline passes.
func (f *fakeSQS) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ok bool
		f.read(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		// Wake on the fake's next change, or re-check shortly for changes made outside it.
		f.mu.Lock()
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-time.After(10 * time.Millisecond):
		}
	}
}
