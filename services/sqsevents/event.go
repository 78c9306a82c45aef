package sqsevents

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ObjectCreated is one new object in a bucket, whichever way S3 announced it.
type ObjectCreated struct {
	Bucket string
	Key    string // decoded: exactly the key the object was written under
	Size   int64
	ETag   string // as S3 sends it in events: hex, without quotes
}

// errNotJSON and errUnknownShape mark poison bodies: they are left on the queue so that its
// redrive policy moves them to the dead-letter queue after maxReceiveCount receives.
var (
	errNotJSON      = errors.New("message body is not JSON")
	errUnknownShape = errors.New("message body is neither an EventBridge S3 event nor an S3 notification")
)

// eventBridgeEvent is the envelope EventBridge delivers to an SQS target for S3 events
// (bucket "EventBridge notifications" on, rule on source aws.s3 / detail-type "Object Created"):
//
//	{"version":"0","id":"…","detail-type":"Object Created","source":"aws.s3","account":"…",
//	 "time":"…","region":"eu-west-1","resources":["arn:aws:s3:::bucket"],
//	 "detail":{"version":"0","bucket":{"name":"bucket"},
//	           "object":{"key":"uploads/p/u","size":1024,"etag":"d41d8…","sequencer":"…"},
//	           "request-id":"…","requester":"…","reason":"PutObject"}}
//
// The key in detail.object.key is not URL-encoded.
type eventBridgeEvent struct {
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Detail     struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
			ETag string `json:"etag"`
		} `json:"object"`
	} `json:"detail"`
}

// s3Notification is the classic S3 event notification (bucket notification configuration with
// an SQS destination, no EventBridge): {"Records":[{"eventSource":"aws:s3",
// "eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"…"},"object":{"key":"…","size":1,
// "eTag":"…"}}}]}. Its keys are URL-encoded the way HTML forms are ('+' for a space). S3 also
// sends {"Service":"Amazon S3","Event":"s3:TestEvent",…} once when the configuration is saved.
type s3Notification struct {
	Records []struct {
		EventSource string `json:"eventSource"`
		EventName   string `json:"eventName"`
		S3          struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
				ETag string `json:"eTag"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
	Event string `json:"Event"`
}

// ParseBody returns the objects a message announces: an EventBridge "Object Created" event, or
// an S3 event notification ({"Records":[…]}, as S3 sends to SQS and versitygw publishes to NATS,
// whose eventName carries an "s3:" prefix). An empty slice with a nil error is a
// message that needs no work (S3's test event, another detail type, ObjectRemoved…): it is
// deleted like a handled one.
func ParseBody(body string) ([]ObjectCreated, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotJSON, err)
	}
	switch {
	case probe["detail-type"] != nil:
		var ev eventBridgeEvent
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			return nil, fmt.Errorf("%w: %v", errUnknownShape, err)
		}
		if ev.Source != "aws.s3" || ev.DetailType != "Object Created" {
			return nil, nil
		}
		o := ObjectCreated{Bucket: ev.Detail.Bucket.Name, Key: ev.Detail.Object.Key,
			Size: ev.Detail.Object.Size, ETag: strings.Trim(ev.Detail.Object.ETag, `"`)}
		if o.Bucket == "" || o.Key == "" {
			return nil, fmt.Errorf("%w: Object Created event without detail.bucket.name or detail.object.key", errUnknownShape)
		}
		return []ObjectCreated{o}, nil
	case probe["Records"] != nil:
		var n s3Notification
		if err := json.Unmarshal([]byte(body), &n); err != nil {
			return nil, fmt.Errorf("%w: %v", errUnknownShape, err)
		}
		var out []ObjectCreated
		for i, r := range n.Records {
			if r.EventSource != "aws:s3" || !strings.HasPrefix(strings.TrimPrefix(r.EventName, "s3:"), "ObjectCreated:") {
				continue
			}
			key, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				return nil, fmt.Errorf("%w: Records[%d].s3.object.key %q: %v", errUnknownShape, i, r.S3.Object.Key, err)
			}
			if r.S3.Bucket.Name == "" || key == "" {
				return nil, fmt.Errorf("%w: Records[%d] without s3.bucket.name or s3.object.key", errUnknownShape, i)
			}
			out = append(out, ObjectCreated{Bucket: r.S3.Bucket.Name, Key: key, Size: r.S3.Object.Size,
				ETag: strings.Trim(r.S3.Object.ETag, `"`)})
		}
		return out, nil
	case probe["Event"] != nil:
		var n s3Notification
		if err := json.Unmarshal([]byte(body), &n); err == nil && n.Event == "s3:TestEvent" {
			return nil, nil
		}
	}
	return nil, errUnknownShape
}
