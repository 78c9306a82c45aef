// Package sqsevents consumes S3 "Object Created" events from an Amazon SQS queue: the AWS way to
// learn that a presigned upload arrived (uploads bucket → EventBridge rule → SQS, or a classic S3
// bucket notification → SQS). It long-polls in batches, extends each message's visibility while
// its handler runs, deletes handled messages in batches, and leaves poison messages alone so the
// queue's redrive policy moves them to the dead-letter queue after maxReceiveCount receives.
package sqsevents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/awsconfig"
)

// Defaults for Config.
const (
	// DefaultBatchSize is SQS's maximum for ReceiveMessage and DeleteMessageBatch.
	DefaultBatchSize = 10
	// DefaultWaitTime is SQS's maximum long-poll wait: the fewest empty receives.
	DefaultWaitTime = 20 * time.Second
	// DefaultVisibilityTimeout is how long a received message stays hidden; it is renewed every
	// ExtendEvery while the handler runs, so it only bounds how soon a crashed worker's messages
	// come back. Keep the queue's own VisibilityTimeout equal (infra/aws.yaml does).
	DefaultVisibilityTimeout = 60 * time.Second
	// DefaultWorkers bounds handlers running at once (and so messages held invisible).
	DefaultWorkers = 10
	// DefaultHandlerTimeout stops a stuck handler from keeping its message invisible forever.
	DefaultHandlerTimeout = 5 * time.Minute
	// DefaultCallTimeout bounds every SQS call except the long poll (WaitTime + CallTimeout).
	DefaultCallTimeout = 10 * time.Second
	// DefaultReceiveBackoff is the first pause after a receive failed with a transient error the
	// SDK's own retries did not get past; it doubles up to maxReceiveBackoff (services.Backoff).
	DefaultReceiveBackoff = time.Second
	// DefaultDeleteAttempts is how often entries of a DeleteMessageBatch that failed on the
	// server's side are tried (a message not deleted is handled again: at-least-once).
	DefaultDeleteAttempts = 3

	maxReceiveBackoff = 30 * time.Second
)

// Handler processes one created object. Returning nil lets the message be deleted; an error
// leaves it on the queue, to be received again once its visibility timeout lapses (and moved to
// the dead-letter queue after maxReceiveCount receives). Handlers must be idempotent: SQS
// delivers at least once.
type Handler func(ctx context.Context, ev ObjectCreated) error

// API is the part of *sqs.Client a Consumer uses.
type API interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

var _ API = (*sqs.Client)(nil)

// Config configures a Consumer. QueueURL is required; zero fields take the defaults.
type Config struct {
	QueueURL string // https://sqs.REGION.amazonaws.com/ACCOUNT/NAME

	// Client settings, used by NewClient and Open only.
	Region    string // default: from the queue URL, else the SDK's chain (AWS_REGION)
	Endpoint  string // another SQS API (ElasticMQ, a test server)
	AccessKey string // both or neither; neither uses the SDK's credential chain (the ECS task role)
	SecretKey string
	// AdaptiveRetry uses the SDK's adaptive retryer instead of the standard one. Off by default:
	// after a single throttling answer its client-side rate limiter may hold every call of the
	// client — visibility extensions and deletes included — to as little as one every two
	// seconds, and SQS standard queues seldom throttle. Both retry throttling and 5xx.
	AdaptiveRetry bool
	// RetryMaxBackoff caps the retryer's back-off; zero keeps the SDK's 20 s.
	RetryMaxBackoff time.Duration
	HTTPClient      aws.HTTPClient

	Workers           int
	BatchSize         int32
	WaitTime          time.Duration
	VisibilityTimeout time.Duration
	ExtendEvery       time.Duration // default VisibilityTimeout/3
	HandlerTimeout    time.Duration
	CallTimeout       time.Duration
	ReceiveBackoff    time.Duration
	DeleteAttempts    int
	Logger            *slog.Logger
}

// ParseURL reads the TRIVIUM_UPLOAD_EVENTS form of a Config, either
//
//	sqs://?queue=https://sqs.eu-west-1.amazonaws.com/123456789012/trivium-uploads&region=eu-west-1
//	sqs://sqs.eu-west-1.amazonaws.com/123456789012/trivium-uploads   (the queue URL with sqs:// for https://)
//
// with optional parameters endpoint, region, access_key, secret_key, workers and visibility (a
// Go duration). Unknown parameters are refused so a typo cannot go unnoticed.
func ParseURL(rawURL string) (Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Config{}, fmt.Errorf("sqsevents: parse URL: %w", err)
	}
	if u.Scheme != "sqs" {
		return Config{}, fmt.Errorf("sqsevents: URL must start with sqs://, got %q", u.Scheme)
	}
	var cfg Config
	if u.Host != "" {
		cfg.QueueURL = "https://" + u.Host + u.EscapedPath()
	}
	for name, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch name {
		case "queue":
			cfg.QueueURL = v
		case "region":
			cfg.Region = v
		case "endpoint":
			cfg.Endpoint = v
		case "access_key":
			cfg.AccessKey = v
		case "secret_key":
			cfg.SecretKey = v
		case "workers":
			if cfg.Workers, err = strconv.Atoi(v); err != nil || cfg.Workers < 1 {
				return Config{}, fmt.Errorf("sqsevents: workers=%q: want a positive number", v)
			}
		case "visibility":
			if cfg.VisibilityTimeout, err = time.ParseDuration(v); err != nil || cfg.VisibilityTimeout < time.Second {
				return Config{}, fmt.Errorf("sqsevents: visibility=%q: want a duration of at least 1s, e.g. 60s", v)
			}
		default:
			return Config{}, fmt.Errorf("sqsevents: unknown URL parameter %q (known: queue, region, endpoint, access_key, secret_key, workers, visibility)", name)
		}
	}
	if cfg.QueueURL == "" {
		return Config{}, errors.New("sqsevents: no queue: use sqs://?queue=https://sqs.REGION.amazonaws.com/ACCOUNT/NAME")
	}
	if q, err := url.Parse(cfg.QueueURL); err != nil || (q.Scheme != "https" && q.Scheme != "http") || q.Host == "" {
		return Config{}, fmt.Errorf("sqsevents: queue %q is not an http(s) queue URL", cfg.QueueURL)
	}
	return cfg, nil
}

// Open builds a Consumer from a URL (see ParseURL); settings of the URL override those of base,
// which supplies the rest (Logger, timeouts).
func Open(ctx context.Context, rawURL string, base Config) (*Consumer, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	base.QueueURL = u.QueueURL
	for dst, src := range map[*string]string{&base.Region: u.Region, &base.Endpoint: u.Endpoint, &base.AccessKey: u.AccessKey, &base.SecretKey: u.SecretKey} {
		if src != "" {
			*dst = src
		}
	}
	if u.Workers != 0 {
		base.Workers = u.Workers
	}
	if u.VisibilityTimeout != 0 {
		base.VisibilityTimeout = u.VisibilityTimeout
	}
	client, err := NewClient(ctx, base)
	if err != nil {
		return nil, err
	}
	return New(client, base)
}

// NewClient builds the SQS client for cfg: the SDK's standard retryer (3 attempts, throttling and
// 5xx retried with jittered exponential back-off) or its adaptive one (Config.AdaptiveRetry),
// credentials from the chain unless keys are given. It does not contact SQS.
func NewClient(ctx context.Context, cfg Config) (*sqs.Client, error) {
	region := cfg.Region
	if region == "" {
		region = regionOf(cfg.QueueURL)
	}
	awsCfg, err := awsconfig.Load(ctx, awsconfig.Options{Region: region, AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey,
		HTTPClient: cfg.HTTPClient, Retryer: func() aws.Retryer {
			r := aws.Retryer(retry.NewStandard())
			if cfg.AdaptiveRetry {
				r = retry.NewAdaptiveMode()
			}
			if cfg.RetryMaxBackoff > 0 {
				r = retry.AddWithMaxBackoffDelay(r, cfg.RetryMaxBackoff)
			}
			return r
		}})
	if err != nil {
		return nil, fmt.Errorf("sqsevents: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("sqsevents: no region: add region=… to the URL or set AWS_REGION")
	}
	return sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), nil
}

// regionOf reads REGION from https://sqs.REGION.amazonaws.com/….
func regionOf(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) >= 4 && parts[0] == "sqs" && parts[2] == "amazonaws" {
		return parts[1]
	}
	return ""
}

// Consumer receives S3 object-created events from one queue.
type Consumer struct {
	api API
	cfg Config
	log *slog.Logger
}

// New returns a Consumer on api (normally NewClient's). It does not contact SQS.
func New(api API, cfg Config) (*Consumer, error) {
	if cfg.QueueURL == "" {
		return nil, errors.New("sqsevents: QueueURL is required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > DefaultBatchSize {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.WaitTime <= 0 || cfg.WaitTime > DefaultWaitTime {
		cfg.WaitTime = DefaultWaitTime
	}
	if cfg.VisibilityTimeout <= 0 {
		cfg.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if cfg.ExtendEvery <= 0 || cfg.ExtendEvery >= cfg.VisibilityTimeout {
		cfg.ExtendEvery = cfg.VisibilityTimeout / 3
	}
	if cfg.HandlerTimeout <= 0 {
		cfg.HandlerTimeout = DefaultHandlerTimeout
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.ReceiveBackoff <= 0 {
		cfg.ReceiveBackoff = DefaultReceiveBackoff
	}
	if cfg.DeleteAttempts <= 0 {
		cfg.DeleteAttempts = DefaultDeleteAttempts
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Consumer{api: api, cfg: cfg, log: cfg.Logger.With("queue", cfg.QueueURL)}, nil
}

// Run receives and handles messages until ctx ends (then it returns nil once the handlers in
// flight have returned and their messages are deleted) or SQS refuses the consumer for a reason
// retrying cannot fix — access denied, no such queue — which it returns.
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	run, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	slots := make(chan struct{}, c.cfg.Workers)
	var batches sync.WaitGroup
	defer batches.Wait()
	backoff := services.Backoff{Base: c.cfg.ReceiveBackoff, Max: max(c.cfg.ReceiveBackoff, maxReceiveBackoff)}
	failures := 0
	for {
		// Ask for no more messages than there are free workers: a message received but not
		// worked on would sit invisible, its timeout running, for nothing.
		select {
		case slots <- struct{}{}:
		case <-run.Done():
			return c.stopped(run)
		}
		n := int32(1)
	fill:
		for n < c.cfg.BatchSize {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break fill
			}
		}
		msgs, err := c.receive(run, n)
		for range n - int32(len(msgs)) {
			<-slots
		}
		if err != nil {
			if run.Err() != nil {
				return c.stopped(run)
			}
			if !transient(err) {
				stop(err)
				batches.Wait()
				return err
			}
			failures++
			wait := backoff.Delay(failures)
			c.log.Warn("sqs receive failed; backing off", "err", err, "backoff", wait)
			select {
			case <-time.After(wait):
			case <-run.Done():
				return c.stopped(run)
			}
			continue
		}
		failures = 0
		if len(msgs) == 0 {
			continue
		}
		batches.Add(1)
		go func() {
			defer batches.Done()
			if err := c.work(run, msgs, h, slots); err != nil {
				stop(err)
			}
		}()
	}
}

// stopped is Run's result once run is done: nil when the caller cancelled, else the fatal error.
func (c *Consumer) stopped(run context.Context) error {
	if err := context.Cause(run); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func (c *Consumer) receive(ctx context.Context, n int32) ([]types.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.WaitTime+c.cfg.CallTimeout)
	defer cancel()
	out, err := c.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(c.cfg.QueueURL),
		MaxNumberOfMessages:         n,
		WaitTimeSeconds:             int32(c.cfg.WaitTime / time.Second),
		VisibilityTimeout:           seconds(c.cfg.VisibilityTimeout),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, fmt.Errorf("sqs receive from %s: %w", c.cfg.QueueURL, err)
	}
	return out.Messages, nil
}

// work handles one received batch, one goroutine per message (each holding a worker slot),
// keeps every message of the batch invisible until it is deleted or has failed, then deletes the
// handled ones in one call. A non-nil result is fatal for Run.
func (c *Consumer) work(ctx context.Context, msgs []types.Message, h Handler, slots <-chan struct{}) error {
	var mu sync.Mutex
	pending := make(map[int]bool, len(msgs)) // extended until deleted or failed
	for i := range msgs {
		pending[i] = true
	}
	stopExtending := make(chan struct{})
	extended := make(chan struct{})
	go func() {
		defer close(extended)
		c.extend(ctx, msgs, &mu, pending, stopExtending)
	}()

	ok := make([]bool, len(msgs))
	var wg sync.WaitGroup
	for i := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			ok[i] = c.handle(ctx, msgs[i], h)
			if !ok[i] {
				mu.Lock()
				delete(pending, i)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stopExtending)
	<-extended

	var done, failed []types.Message
	for i, m := range msgs {
		if ok[i] {
			done = append(done, m)
		} else {
			failed = append(failed, m)
		}
	}
	if ctx.Err() != nil {
		// Shutting down: messages whose handler was interrupted go back now, not after their
		// visibility timeout, so another replica takes them at once.
		c.release(ctx, failed)
	}
	return c.delete(ctx, done)
}

// handle runs h for every object the message announces; true when the message may be deleted.
func (c *Consumer) handle(ctx context.Context, m types.Message, h Handler) (ok bool) {
	log := c.log.With("message_id", aws.ToString(m.MessageId), "receive_count", m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	objs, err := ParseBody(aws.ToString(m.Body))
	if err != nil {
		// Not deleted: after maxReceiveCount receives the redrive policy moves it to the DLQ,
		// where an operator can read it.
		log.Warn("poison message left for the dead-letter queue", "err", err)
		return false
	}
	if len(objs) == 0 {
		log.Debug("message announces no created object; deleting it")
		return true
	}
	hctx, cancel := context.WithTimeout(ctx, c.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			log.Error("upload event handler panicked; message left on the queue", "panic", p)
			ok = false
		}
	}()
	for _, o := range objs {
		if err := h(hctx, o); err != nil {
			if ctx.Err() == nil {
				log.Warn("upload event handler failed; message will be received again", "bucket", o.Bucket, "key", o.Key, "err", err)
			}
			return false
		}
	}
	return true
}

// extend renews the visibility of every pending message each ExtendEvery until stop closes.
func (c *Consumer) extend(ctx context.Context, msgs []types.Message, mu *sync.Mutex, pending map[int]bool, stop <-chan struct{}) {
	t := time.NewTicker(c.cfg.ExtendEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mu.Lock()
		var idx []int
		for i := range pending {
			idx = append(idx, i)
		}
		mu.Unlock()
		for _, i := range idx {
			err := c.call(ctx, func(ctx context.Context) error {
				_, err := c.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
					QueueUrl: aws.String(c.cfg.QueueURL), ReceiptHandle: msgs[i].ReceiptHandle,
					VisibilityTimeout: seconds(c.cfg.VisibilityTimeout),
				})
				return err
			})
			if err == nil || ctx.Err() != nil {
				continue
			}
			c.log.Warn("sqs visibility extension failed; the message may be delivered twice", "message_id", aws.ToString(msgs[i].MessageId), "err", err)
			if code := errorCode(err); code == "ReceiptHandleIsInvalid" || code == "MessageNotInflight" || code == "InvalidParameterValue" {
				mu.Lock()
				delete(pending, i)
				mu.Unlock()
			}
		}
	}
}

// release makes msgs visible again at once. Best effort: if it fails they come back when their
// visibility timeout lapses.
func (c *Consumer) release(ctx context.Context, msgs []types.Message) {
	ctx = context.WithoutCancel(ctx)
	for _, m := range msgs {
		err := c.call(ctx, func(ctx context.Context) error {
			_, err := c.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(c.cfg.QueueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
			})
			return err
		})
		if err != nil {
			c.log.Debug("sqs release failed", "message_id", aws.ToString(m.MessageId), "err", err)
		}
	}
}

// delete removes handled messages. It runs on a context that shutdown does not cancel: the work
// is done, and a message not deleted is handled once more. Entries the server failed to delete
// are retried; entries refused as the sender's fault (an expired receipt handle) are not. An
// error is returned only when SQS refuses the call itself for a reason retrying cannot fix.
func (c *Consumer) delete(ctx context.Context, msgs []types.Message) error {
	ctx = context.WithoutCancel(ctx)
	byID := make(map[string]types.Message, len(msgs))
	for i, m := range msgs {
		byID[strconv.Itoa(i)] = m
	}
	for attempt := 1; len(byID) > 0; attempt++ {
		entries := make([]types.DeleteMessageBatchRequestEntry, 0, len(byID))
		for id, m := range byID {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(id), ReceiptHandle: m.ReceiptHandle})
		}
		var out *sqs.DeleteMessageBatchOutput
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			out, err = c.api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.cfg.QueueURL), Entries: entries})
			return err
		})
		if err != nil {
			err = fmt.Errorf("sqs delete %d handled message(s) from %s: %w", len(entries), c.cfg.QueueURL, err)
			if !transient(err) {
				return err
			}
			if attempt >= c.cfg.DeleteAttempts {
				c.log.Warn("handled messages not deleted; they will be handled again", "count", len(entries), "err", err)
				return nil
			}
			continue
		}
		for _, s := range out.Successful {
			delete(byID, aws.ToString(s.Id))
		}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			m, ok := byID[id]
			if !ok {
				continue
			}
			if f.SenderFault || attempt >= c.cfg.DeleteAttempts {
				c.log.Warn("handled message not deleted; it will be handled again", "message_id", aws.ToString(m.MessageId),
					"code", aws.ToString(f.Code), "reason", aws.ToString(f.Message), "sender_fault", f.SenderFault)
				delete(byID, id)
			}
		}
	}
	return nil
}

// call runs one SQS call under CallTimeout.
func (c *Consumer) call(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	return fn(ctx)
}

// transient reports whether err is worth trying again later: what the SDK retries (throttling,
// 5xx, timeouts, connection errors) and gave up on. Access denied, a missing queue, bad
// parameters, missing credentials and the like are not.
func transient(err error) bool {
	var maxed *retry.MaxAttemptsError
	if errors.As(err, &maxed) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultServer {
		return true
	}
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary ||
		retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func seconds(d time.Duration) int32 {
	return int32((d + time.Second - 1) / time.Second)
}
