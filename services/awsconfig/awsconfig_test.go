package awsconfig_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/trivium-game/trivium/services/awsconfig"
)

// noAmbientConfig keeps the machine's AWS settings out of a test.
func noAmbientConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
	}
}

func TestLoadRefusesHalfAKeyPair(t *testing.T) {
	noAmbientConfig(t)
	for _, o := range []awsconfig.Options{{AccessKey: "K"}, {SecretKey: "S"}} {
		if _, err := awsconfig.Load(context.Background(), o); !errors.Is(err, awsconfig.ErrKeyPair) {
			t.Fatalf("%+v: err = %v, want ErrKeyPair", o, err)
		}
	}
}

func TestLoadUsesTheGivenKeysRegionClientAndRetryer(t *testing.T) {
	noAmbientConfig(t)
	hc := &http.Client{}
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Region: "eu-west-3", AccessKey: "K", SecretKey: "S",
		HTTPClient: hc, Retryer: func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 7) }})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "K" || creds.SecretAccessKey != "S" {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
	if cfg.Region != "eu-west-3" || cfg.HTTPClient != hc {
		t.Fatalf("region %q, http client %v", cfg.Region, cfg.HTTPClient)
	}
	if n := cfg.Retryer().MaxAttempts(); n != 7 {
		t.Fatalf("retryer allows %d attempts, want 7", n)
	}
}

func TestLoadLeavesTheRegionToTheSDKChain(t *testing.T) {
	noAmbientConfig(t)
	t.Setenv("AWS_REGION", "ap-south-1")
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "ap-south-1" {
		t.Fatalf("region %q, want the one from AWS_REGION", cfg.Region)
	}
}
