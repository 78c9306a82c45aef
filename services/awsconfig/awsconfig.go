// Package awsconfig loads the AWS SDK configuration one way for every AWS client of Trivium (the
// s3blob and sqsevents drivers, the SSM secrets store and Rekognition built in cmd/): static keys
// only as a pair, else the SDK's credential chain; the SDK's region chain unless one is given.
package awsconfig

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Options for Load; zero values keep the SDK's defaults.
type Options struct {
	// Region signs requests; empty leaves the SDK's chain (AWS_REGION, the shared config file).
	Region string
	// AccessKey and SecretKey, when both set, replace the SDK's credential chain
	// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, shared files, task and instance roles).
	AccessKey, SecretKey string
	// HTTPClient carries the SDK's requests; the SDK's own when nil.
	HTTPClient aws.HTTPClient
	// Retryer makes the retryer of each client; the SDK's standard one when nil.
	Retryer func() aws.Retryer
}

// ErrKeyPair refuses an access key without its secret key, or the other way round.
var ErrKeyPair = errors.New("set both access_key and secret_key, or neither to use the AWS credential chain")

// Load returns the SDK configuration for o. It does not contact AWS.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	if (o.AccessKey == "") != (o.SecretKey == "") {
		return aws.Config{}, ErrKeyPair
	}
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, "")))
	}
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	}
	if o.Retryer != nil {
		opts = append(opts, config.WithRetryer(o.Retryer))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}
