package sqsevents

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseBodyReadsBothDocumentedShapes(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   []ObjectCreated
		poison bool
	}{
		{"EventBridge Object Created", eventBridgeBody("up", "uploads/p/u 1", 7, "abc"),
			[]ObjectCreated{{Bucket: "up", Key: "uploads/p/u 1", Size: 7, ETag: "abc"}}, false},
		{"S3 notification with a form-encoded key", s3NotificationBody("up", "uploads/p/a+b%2Bc", 9, "def"),
			[]ObjectCreated{{Bucket: "up", Key: "uploads/p/a b+c", Size: 9, ETag: "def"}}, false},
		{"S3 notification of a removal needs no work",
			`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"up"},"object":{"key":"k"}}}]}`, nil, false},
		{"EventBridge Object Deleted needs no work",
			`{"detail-type":"Object Deleted","source":"aws.s3","detail":{"bucket":{"name":"up"},"object":{"key":"k"}}}`, nil, false},
		{"S3 test event needs no work", `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"up"}`, nil, false},
		{"not JSON is poison", `<xml/>`, nil, true},
		{"unknown JSON is poison", `{"hello":"world"}`, nil, true},
		{"Object Created without a key is poison",
			`{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"up"},"object":{}}}`, nil, true},
		{"a badly escaped key is poison", s3NotificationBody("up", "uploads/%zz", 1, "e"), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBody(tc.body)
			if poison := errors.Is(err, errNotJSON) || errors.Is(err, errUnknownShape); poison != tc.poison || (err != nil && !poison) {
				t.Fatalf("err = %v, want poison %v", err, tc.poison)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw  string
		want Config
		bad  bool
	}{
		{raw: "sqs://?queue=https://sqs.eu-west-1.amazonaws.com/123456789012/trivium-uploads&region=eu-west-1",
			want: Config{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/trivium-uploads", Region: "eu-west-1"}},
		{raw: "sqs://sqs.eu-west-1.amazonaws.com/123456789012/trivium-uploads?workers=4&visibility=90s",
			want: Config{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/trivium-uploads", Workers: 4, VisibilityTimeout: 90 * time.Second}},
		{raw: "sqs://?queue=http://127.0.0.1:9324/000000000000/q&endpoint=http://127.0.0.1:9324&access_key=K&secret_key=S",
			want: Config{QueueURL: "http://127.0.0.1:9324/000000000000/q", Endpoint: "http://127.0.0.1:9324", AccessKey: "K", SecretKey: "S"}},
		{raw: "sqs://", bad: true},
		{raw: "https://sqs.eu-west-1.amazonaws.com/1/q", bad: true},
		{raw: "sqs://?queue=trivium-uploads", bad: true},
		{raw: "sqs://?queue=https://sqs.eu-west-1.amazonaws.com/1/q&wait=5", bad: true},
		{raw: "sqs://?queue=https://sqs.eu-west-1.amazonaws.com/1/q&workers=0", bad: true},
		{raw: "sqs://?queue=https://sqs.eu-west-1.amazonaws.com/1/q&visibility=10ms", bad: true},
	}
	for _, tc := range tests {
		got, err := ParseURL(tc.raw)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseURL(%q) = %+v, want an error", tc.raw, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
	if r := regionOf("https://sqs.ap-southeast-2.amazonaws.com/1/q"); r != "ap-southeast-2" {
		t.Errorf("region from queue URL = %q", r)
	}
}

func TestParseBodyReadsVersitygwNATSEvents(t *testing.T) {
	// As versitygw v1.8.0 publishes it (s3event.EventSchema), with the "s3:" event name prefix.
	body := `{"Records":[{"eventVersion":"2.2","eventSource":"aws:s3","awsRegion":"us-east-1",
		"eventName":"s3:ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"nats-global",
		"bucket":{"name":"trivium","arn":"arn:aws:s3:::trivium"},
		"object":{"key":"uploads/p1/u1","size":1234,"eTag":"\"abc\"","sequencer":"1"}}}]}`
	got, err := ParseBody(body)
	if err != nil || len(got) != 1 || got[0] != (ObjectCreated{Bucket: "trivium", Key: "uploads/p1/u1", Size: 1234, ETag: "abc"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if got, err := ParseBody(`{"Service":"versitygw","Event":"s3:TestEvent","Bucket":"Test-Bucket"}`); err != nil || len(got) != 0 {
		t.Fatalf("test event: %+v %v", got, err)
	}
}
