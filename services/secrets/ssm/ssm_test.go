package ssm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/secrets"
	"github.com/trivium-game/trivium/services/secrets/ssm"
)

const (
	testRegion = "eu-west-1"
	testKeyID  = "AKIDTRIVIUMTEST"
)

var sigV4 = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/(\d{8})/([a-z0-9-]+)/ssm/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

// fakeSSM speaks the AWS JSON 1.1 protocol of Parameter Store for GetParameter and
// PutParameter, refusing unsigned requests the way SSM does.
type fakeSSM struct {
	t        *testing.T
	mu       sync.Mutex
	params   map[string]param
	failures []string // __type of errors to answer before serving normally, one per request
	requests map[string]int
}

type param struct {
	Value, Type, KeyID string
	Version            int64
}

func newFakeSSM(t *testing.T) (*fakeSSM, *ssm.Store) {
	f := &fakeSSM{t: t, params: map[string]param{}, requests: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	client := awsssm.New(awsssm.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(testKeyID, "test-secret", ""),
		// Real backoff, just shorter, so the throttling tests take milliseconds.
		Retryer:    retry.AddWithMaxBackoffDelay(retry.NewStandard(), 2*time.Millisecond),
		HTTPClient: srv.Client(),
	})
	store, err := ssm.New(client, ssm.Config{Prefix: "/trivium/test/", KMSKeyID: "alias/trivium"})
	if err != nil {
		t.Fatal(err)
	}
	return f, store
}

func (f *fakeSSM) fail(types ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, types...)
}

func (f *fakeSSM) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[op]
}

func writeErr(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", "req-1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (f *fakeSSM) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		f.t.Errorf("request %s %s, want POST /", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		f.t.Errorf("Content-Type %q, want application/x-amz-json-1.1", ct)
	}
	auth := r.Header.Get("Authorization")
	m := sigV4.FindStringSubmatch(auth)
	if m == nil || m[1] != testKeyID || m[3] != testRegion || !strings.HasPrefix(r.Header.Get("X-Amz-Date"), m[2]) ||
		!strings.Contains(";"+m[4]+";", ";x-amz-target;") {
		f.t.Errorf("Authorization %q is not a SigV4 signature scoped to %s/ssm/aws4_request covering X-Amz-Target", auth, testRegion)
		writeErr(w, http.StatusBadRequest, "IncompleteSignatureException", "bad signature")
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonSSM.")
	if !ok {
		f.t.Errorf("X-Amz-Target %q", target)
	}
	var in struct {
		Name           string
		WithDecryption bool
		Value          string
		Type           string
		Overwrite      bool
		KeyId          string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErr(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[op]++
	if len(f.failures) > 0 {
		typ := f.failures[0]
		f.failures = f.failures[1:]
		writeErr(w, http.StatusBadRequest, typ, "scripted failure")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch op {
	case "GetParameter":
		p, ok := f.params[in.Name]
		if !ok {
			writeErr(w, http.StatusBadRequest, "ParameterNotFound", "")
			return
		}
		if !in.WithDecryption {
			f.t.Errorf("GetParameter %s without WithDecryption", in.Name)
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
			"ARN": "arn:aws:ssm:" + testRegion + ":123456789012:parameter" + in.Name, "DataType": "text",
			"LastModifiedDate": 1.7e9, "Name": in.Name, "Type": p.Type, "Value": p.Value, "Version": p.Version,
		}})
	case "PutParameter":
		old, exists := f.params[in.Name]
		if exists && !in.Overwrite {
			writeErr(w, http.StatusBadRequest, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
			return
		}
		f.params[in.Name] = param{Value: in.Value, Type: in.Type, KeyID: in.KeyId, Version: old.Version + 1}
		json.NewEncoder(w).Encode(map[string]any{"Tier": "Standard", "Version": old.Version + 1})
	default:
		writeErr(w, http.StatusBadRequest, "InvalidAction", op)
	}
}

func TestPutStoresSecureStringUnderPrefixAndGetDecrypts(t *testing.T) {
	f, store := newFakeSSM(t)
	ctx := context.Background()
	if err := store.Put(ctx, "vapid-private-key", []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	p := f.params["/trivium/test/vapid-private-key"]
	if p.Type != "SecureString" || p.Value != "s3cret" || p.KeyID != "alias/trivium" {
		t.Fatalf("stored %+v, want SecureString s3cret encrypted with alias/trivium", p)
	}
	v, err := store.Get(ctx, "vapid-private-key")
	if err != nil || string(v) != "s3cret" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if err := store.Put(ctx, "vapid-private-key", []byte("rotated")); err != nil {
		t.Fatalf("Put must overwrite: %v", err)
	}
	if v, _ := store.Get(ctx, "vapid-private-key"); string(v) != "rotated" {
		t.Fatalf("after overwrite Get = %q", v)
	}
}

func TestGetOfMissingParameterIsNotFound(t *testing.T) {
	_, store := newFakeSSM(t)
	_, err := store.Get(context.Background(), "absent")
	if services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("err = %v, want not_found", err)
	}
}

func TestCreateDoesNotOverwriteAnExistingParameter(t *testing.T) {
	f, store := newFakeSSM(t)
	ctx := context.Background()
	if err := store.Create(ctx, "k", []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := store.Create(ctx, "k", []byte("second"))
	if services.ErrorCode(err) != services.EConflict {
		t.Fatalf("second Create err = %v, want conflict", err)
	}
	if got := f.params["/trivium/test/k"].Value; got != "first" {
		t.Fatalf("value = %q, want first", got)
	}
}

func TestAccessDeniedIsForbiddenAndNotRetried(t *testing.T) {
	f, store := newFakeSSM(t)
	f.fail("AccessDeniedException")
	_, err := store.Get(context.Background(), "k")
	if services.ErrorCode(err) != services.EForbidden {
		t.Fatalf("err = %v, want forbidden", err)
	}
	if n := f.count("GetParameter"); n != 1 {
		t.Fatalf("%d requests, want 1 (access denied is not retryable)", n)
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	f, store := newFakeSSM(t)
	ctx := context.Background()
	f.fail("ThrottlingException", "com.amazonaws.ssm#ThrottlingException")
	if err := store.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("Put after two throttles: %v", err)
	}
	if n := f.count("PutParameter"); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestPersistentThrottlingIsUnavailable(t *testing.T) {
	f, store := newFakeSSM(t)
	f.fail("ThrottlingException", "ThrottlingException", "ThrottlingException", "ThrottlingException", "ThrottlingException")
	_, err := store.Get(context.Background(), "k")
	if services.ErrorCode(err) != services.EUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if n := f.count("GetParameter"); n < 2 {
		t.Fatalf("%d requests, want retries", n)
	}
}

func TestLoadOrCreateKeyAgreesAcrossConcurrentReplicas(t *testing.T) {
	_, store := newFakeSSM(t)
	ctx := context.Background()
	keys := make([][]byte, 4)
	created := make([]bool, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, c, err := secrets.LoadOrCreateKey(ctx, store, "token-key", 32)
			if err != nil {
				t.Error(err)
			}
			keys[i], created[i] = k, c
		})
	}
	wg.Wait()
	n := 0
	for i := range keys {
		if string(keys[i]) != string(keys[0]) || len(keys[i]) != 32 {
			t.Fatalf("replica %d got a different key", i)
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d replicas report creating the key, want exactly 1", n)
	}
}

func TestInvalidPrefixIsRefused(t *testing.T) {
	if _, err := ssm.New(nil, ssm.Config{Prefix: "trivium/prod"}); err == nil {
		t.Fatal("want an error for a prefix without slashes")
	}
}
