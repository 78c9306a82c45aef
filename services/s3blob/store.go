// Package s3blob is the services.BlobStore on an S3 API (AWS S3, versitygw, MinIO...), using
// aws-sdk-go-v2 directly rather than gocloud.dev because presigned PUT URLs must sign the
// Content-Type and Content-Length, which S3 then enforces.
//
// Single use: S3 has no way to make a presigned PUT URL work only once; until it expires it
// may be replayed with the same type and length (the same bytes or others). The app makes
// uploads single-use itself: every upload gets a fresh key, the app records the upload id and
// accepts only the first object-created event for it, and TTLs are kept short.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/awsconfig"
)

// DefaultRegion is used when Config.Region is empty; S3-compatible servers accept any region.
const DefaultRegion = "us-east-1"

// Config configures a Store. Only Bucket is required.
type Config struct {
	Bucket string
	// Endpoint is the S3 API's base URL, e.g. http://127.0.0.1:7070; AWS when empty.
	Endpoint string
	// Region signs requests; DefaultRegion when empty.
	Region string
	// PublicEndpoint, when set, is the base URL that presigned URLs name instead of Endpoint:
	// where browsers reach the same S3 API (e.g. through the CDN/proxy in front of it), while
	// the server talks to Endpoint on the internal network. The proxy must keep the Host header,
	// which is part of the signature.
	PublicEndpoint string
	// PathStyle addresses buckets as endpoint/bucket/key instead of bucket.endpoint/key, which
	// servers on an IP address such as versitygw need.
	PathStyle bool
	// AccessKey and SecretKey, when both set, replace the standard AWS credential chain
	// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, shared files, instance roles).
	AccessKey, SecretKey string
	// Now is the signing time of presigned URLs; time.Now when nil. Tests set it in the past
	// to get URLs that have already expired.
	Now func() time.Time
	// HTTPClient carries the SDK's requests; the SDK default when nil.
	HTTPClient aws.HTTPClient
}

// Store is a services.BlobStore on one S3 bucket.
type Store struct {
	bucket  string
	region  string
	client  *s3.Client
	presign *s3.PresignClient
}

var _ services.BlobStore = (*Store)(nil)

// Open opens a Store from a URL, the way cmd/ configures drivers:
//
//	s3://bucket?endpoint=http://127.0.0.1:7070&path_style=1&region=us-east-1&access_key=K&secret_key=S
//
// Every parameter is optional; unknown ones are refused so a typo cannot go unnoticed.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// ParseURL turns an s3:// URL (see Open) into a Config.
func ParseURL(rawURL string) (Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Config{}, fmt.Errorf("s3blob: parse URL: %w", err)
	}
	if u.Scheme != "s3" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return Config{}, fmt.Errorf("s3blob: URL must look like s3://bucket?endpoint=..., got scheme %q host %q path %q", u.Scheme, u.Host, u.Path)
	}
	cfg := Config{Bucket: u.Host}
	for name, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch name {
		case "endpoint":
			cfg.Endpoint = v
		case "public_endpoint":
			cfg.PublicEndpoint = v
		case "region":
			cfg.Region = v
		case "path_style":
			if cfg.PathStyle, err = strconv.ParseBool(v); err != nil {
				return Config{}, fmt.Errorf("s3blob: path_style=%q: want 1, 0, true or false", v)
			}
		case "access_key":
			cfg.AccessKey = v
		case "secret_key":
			cfg.SecretKey = v
		default:
			return Config{}, fmt.Errorf("s3blob: unknown URL parameter %q (known: endpoint, public_endpoint, region, path_style, access_key, secret_key)", name)
		}
	}
	return cfg, nil
}

// New builds a Store; it does not contact the server (see EnsureBucket).
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3blob: Bucket is required")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	awsCfg, err := awsconfig.Load(ctx, awsconfig.Options{Region: cfg.Region, AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey,
		HTTPClient: cfg.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("s3blob: %w", err)
	}
	clientFor := func(endpoint string) *s3.Client {
		return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
			o.UsePathStyle = cfg.PathStyle
			// Default checksums add x-amz-checksum-* headers to PUTs and presigned URLs that a
			// browser upload does not send and S3-compatible servers may not know.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		})
	}
	client, signing := clientFor(cfg.Endpoint), clientFor(cfg.Endpoint)
	if cfg.PublicEndpoint != "" {
		signing = clientFor(cfg.PublicEndpoint)
	}
	presigner := clockPresigner{
		now: cfg.Now,
		// The same options the SDK gives its default S3 presigner: S3 keys are not re-escaped.
		signer: v4.NewSigner(func(so *v4.SignerOptions) { so.DisableURIPathEscaping = true }),
	}
	return &Store{
		bucket:  cfg.Bucket,
		region:  cfg.Region,
		client:  client,
		presign: s3.NewPresignClient(signing, func(o *s3.PresignOptions) { o.Presigner = presigner }),
	}, nil
}

// clockPresigner signs presigned URLs at the time of its own clock instead of the SDK's.
type clockPresigner struct {
	now    func() time.Time
	signer *v4.Signer
}

func (p clockPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.now().UTC(), optFns...)
}

// EnsureBucket creates the bucket if it does not exist yet (for tests and compose setups).
func (s *Store) EnsureBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("s3blob: head bucket %q: %w", s.bucket, err)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(s.bucket)}
	if s.region != DefaultRegion {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(s.region)}
	}
	_, err = s.client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("s3blob: create bucket %q: %w", s.bucket, err)
	}
	return nil
}

// PresignPut signs the Content-Type and Content-Length into the URL, so S3 refuses any other
// type or size. Unlike localblob the URL is NOT single-use: see the package comment.
func (s *Store) PresignPut(ctx context.Context, key, contentType string, contentLength int64, ttl time.Duration) (services.PresignedRequest, error) {
	if err := services.ValidBlobKey(key); err != nil {
		return services.PresignedRequest{}, err
	}
	switch {
	case contentType == "":
		return services.PresignedRequest{}, services.Errorf(services.EInvalid, "content type is required")
	case contentLength < 0:
		return services.PresignedRequest{}, services.Errorf(services.EInvalid, "content length must not be negative")
	case ttl <= 0:
		return services.PresignedRequest{}, services.Errorf(services.EInvalid, "ttl must be positive")
	}
	req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		ContentType:   aws.String(contentType),
		ContentLength: aws.Int64(contentLength),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return services.PresignedRequest{}, fmt.Errorf("s3blob: presign put %q: %w", key, err)
	}
	headers := map[string]string{
		"Content-Type":   contentType,
		"Content-Length": strconv.FormatInt(contentLength, 10),
	}
	return services.PresignedRequest{
		Method:    http.MethodPut,
		URL:       req.URL,
		Headers:   headers,
		ExpiresAt: signedExpiry(req.URL, ttl),
	}, nil
}

// signedExpiry reads the expiry back from the URL's X-Amz-Date so it reflects the signing
// clock; it falls back to now + ttl.
func signedExpiry(rawURL string, ttl time.Duration) time.Time {
	if u, err := url.Parse(rawURL); err == nil {
		if t, err := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date")); err == nil {
			return t.Add(ttl)
		}
	}
	return time.Now().Add(ttl)
}

// PresignGet returns a URL that reads key with GET until ttl has passed.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := services.ValidBlobKey(key); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", services.Errorf(services.EInvalid, "ttl must be positive")
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("s3blob: presign get %q: %w", key, err)
	}
	return req.URL, nil
}

// Put uploads r, which must be seekable: over plain http the SDK reads the body twice, once to
// hash it for the signature and once to send it.
func (s *Store) Put(ctx context.Context, key string, r io.ReadSeeker, size int64, contentType, cacheControl string) error {
	if err := services.ValidBlobKey(key); err != nil {
		return err
	}
	if size < 0 {
		return services.Errorf(services.EInvalid, "size must not be negative")
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          r,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
	}
	if cacheControl != "" {
		in.CacheControl = aws.String(cacheControl)
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("s3blob: put %q: %w", key, err)
	}
	return nil
}

// Get returns key's content; the caller closes it.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, services.BlobInfo, error) {
	if err := services.ValidBlobKey(key); err != nil {
		return nil, services.BlobInfo{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, services.BlobInfo{}, s.translate("get", key, err)
	}
	return out.Body, services.BlobInfo{
		Size:         aws.ToInt64(out.ContentLength),
		ContentType:  aws.ToString(out.ContentType),
		ETag:         aws.ToString(out.ETag),
		CacheControl: aws.ToString(out.CacheControl),
	}, nil
}

// Head returns key's metadata.
func (s *Store) Head(ctx context.Context, key string) (services.BlobInfo, error) {
	if err := services.ValidBlobKey(key); err != nil {
		return services.BlobInfo{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return services.BlobInfo{}, s.translate("head", key, err)
	}
	return services.BlobInfo{
		Size:         aws.ToInt64(out.ContentLength),
		ContentType:  aws.ToString(out.ContentType),
		ETag:         aws.ToString(out.ETag),
		CacheControl: aws.ToString(out.CacheControl),
	}, nil
}

// Delete removes key; S3 itself answers success for an absent key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := services.ValidBlobKey(key); err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("s3blob: delete %q: %w", key, err)
	}
	return nil
}

func (s *Store) translate(op, key string, err error) error {
	if isNotFound(err) {
		return services.Errorf(services.ENotFound, "blob %q not found", key)
	}
	return fmt.Errorf("s3blob: %s %q: %w", op, key, err)
}

// isNotFound recognises an absent object or bucket however the server words it: GET answers
// NoSuchKey, HEAD has no body and so only a 404 ("NotFound"). A missing bucket on GET is
// NoSuchBucket, a misconfiguration rather than an absent object, so it is not matched.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound"
	}
	var status interface{ HTTPStatusCode() int }
	return errors.As(err, &status) && status.HTTPStatusCode() == http.StatusNotFound
}
