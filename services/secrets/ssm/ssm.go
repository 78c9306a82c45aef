// Package ssm keeps Trivium's secrets in AWS Systems Manager Parameter Store as SecureString
// parameters, so every replica of a fleet reads the same VAPID and signing keys.
package ssm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/secrets"
)

// DefaultPrefix is prepended to every secret name when Config.Prefix is empty.
const DefaultPrefix = "/trivium/"

// API is the part of *ssm.Client the store uses.
type API interface {
	GetParameter(ctx context.Context, in *awsssm.GetParameterInput, optFns ...func(*awsssm.Options)) (*awsssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *awsssm.PutParameterInput, optFns ...func(*awsssm.Options)) (*awsssm.PutParameterOutput, error)
}

// Config configures a Store.
type Config struct {
	// Prefix is the parameter hierarchy, e.g. "/trivium/prod/"; it must start and end with '/'.
	Prefix string
	// KMSKeyID encrypts the SecureStrings; empty uses the account's aws/ssm key.
	KMSKeyID string
}

// Store is a secrets.Store on Parameter Store. Values must be UTF-8 text, which is what
// SecureString holds; the key helpers store base64url text.
type Store struct {
	api API
	cfg Config
}

var (
	_ secrets.Store   = (*Store)(nil)
	_ secrets.Creator = (*Store)(nil)
)

// New returns a Store using api (an *ssm.Client, whose retryer already retries throttling).
func New(api API, cfg Config) (*Store, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("ssm prefix %q must start and end with '/', e.g. /trivium/prod/", cfg.Prefix)
	}
	return &Store{api: api, cfg: cfg}, nil
}

// Get reads and decrypts the parameter Prefix+name; services.ENotFound when absent.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	full, err := s.name(name)
	if err != nil {
		return nil, err
	}
	out, err := s.api.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String(full), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, translate("get", full, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return nil, fmt.Errorf("ssm get %s: answer has no value", full)
	}
	return []byte(*out.Parameter.Value), nil
}

// Put writes the SecureString Prefix+name, replacing any previous value.
func (s *Store) Put(ctx context.Context, name string, v []byte) error {
	return s.put(ctx, name, v, true)
}

// Create writes the SecureString Prefix+name only if it does not exist yet
// (services.EConflict otherwise).
func (s *Store) Create(ctx context.Context, name string, v []byte) error {
	return s.put(ctx, name, v, false)
}

func (s *Store) put(ctx context.Context, name string, v []byte, overwrite bool) error {
	full, err := s.name(name)
	if err != nil {
		return err
	}
	if len(v) == 0 || !utf8.Valid(v) {
		return services.Errorf(services.EInvalid, "secret %s: SSM values must be non-empty UTF-8 text", name)
	}
	in := &awsssm.PutParameterInput{
		Name:      aws.String(full),
		Value:     aws.String(string(v)),
		Type:      types.ParameterTypeSecureString,
		Overwrite: aws.Bool(overwrite),
	}
	if s.cfg.KMSKeyID != "" {
		in.KeyId = aws.String(s.cfg.KMSKeyID)
	}
	if _, err := s.api.PutParameter(ctx, in); err != nil {
		return translate("put", full, err)
	}
	return nil
}

func (s *Store) name(name string) (string, error) {
	if !secrets.ValidName(name) {
		return "", services.Errorf(services.EInvalid, "invalid secret name %q", name)
	}
	return s.cfg.Prefix + name, nil
}

// translate maps Parameter Store's error codes to domain codes. The messages never include
// values: SSM errors carry names only.
func translate(op, name string, err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("ssm %s %s: %w", op, name, err)
	}
	code := ""
	switch api.ErrorCode() {
	case "ParameterNotFound":
		code = services.ENotFound
	case "ParameterAlreadyExists":
		code = services.EConflict
	case "AccessDeniedException":
		code = services.EForbidden
	case "ThrottlingException", "TooManyUpdates", "ServiceUnavailable", "InternalServerError":
		code = services.EUnavailable
	default:
		return fmt.Errorf("ssm %s %s: %w", op, name, err)
	}
	// Both wrapped: callers switch on the domain code, and the SDK error keeps its request id.
	return fmt.Errorf("ssm %s %s: %w (%w)", op, name, &services.Error{Code: code, Message: api.ErrorCode() + ": " + api.ErrorMessage()}, err)
}
