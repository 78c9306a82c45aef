package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"

	"github.com/trivium-game/trivium/moderation"
	modrek "github.com/trivium-game/trivium/moderation/rekognition"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/avatars"
	"github.com/trivium-game/trivium/services/localblob"
	"github.com/trivium-game/trivium/services/s3blob"
	"github.com/trivium-game/trivium/services/secrets"
	"github.com/trivium-game/trivium/services/splitblob"
	"github.com/trivium-game/trivium/services/sqsevents"
)

// avatarPipeline is the avatar side of serve: upload intents for the API, the moderation
// workflow (its consumer runs with the moderation role; its review cases are served by the API),
// and, for the local blob store, the handlers of its signed URLs and public images.
type avatarPipeline struct {
	uploads  *avatars.Service
	workflow *moderation.Workflow
	blob     http.Handler // /blob/: presigned PUT and GET; nil with S3
	public   http.Handler // /avatars/: published images; nil with S3 (serve them from the bucket or a CDN)
}

// openAvatars opens the blob store (cfg.Blob, cfg.PublicBlob) and the detector
// (cfg.Moderation) and builds the pipeline in dependency order: the stores, the upload service
// on them, then the local store's handler, whose PUT callback is the service's. publicURL is
// where this server's /blob/ is reachable; cdn is the base of public image URLs. kick wakes the
// outbox relay that carries the pipeline's events; onSuspend closes a suspended player's sockets.
func openAvatars(ctx context.Context, cfg *Config, a *app, bus services.Bus, publicURL, cdn string, onSuspend func(string), kick func()) (*avatarPipeline, error) {
	p := &avatarPipeline{}
	blob, local, err := openBlob(ctx, a, cfg.Blob, cfg.Data, publicURL)
	if err != nil {
		return nil, err
	}
	if cfg.PublicBlob != "" {
		// Published images go to their own store (the CDN's bucket); uploads stay private.
		public, publicLocal, err := openBlob(ctx, a, cfg.PublicBlob, cfg.Data, publicURL)
		if err != nil {
			return nil, fmt.Errorf("TRIVIUM_PUBLIC_BLOB: %w", err)
		}
		if publicLocal != nil {
			p.public = publicLocal.PublicHandler()
		}
		blob = splitblob.Store{Private: blob, Public: public}
	}
	detector, err := openDetector(ctx, cfg.Moderation, cfg.ImageLimits)
	if err != nil {
		return nil, err
	}
	// Upload ids are signed intents: every replica must share the key (like the blob key).
	intentKey, _, err := secrets.LoadOrCreateKey(ctx, a.secrets, "upload-intent-key", 32)
	if err != nil {
		return nil, fmt.Errorf("upload intent key: %w", err)
	}
	if p.uploads, err = avatars.New(avatars.Config{Store: a.db, Blob: blob, Secret: intentKey, Kick: kick,
		Limits: services.DefaultUploadLimits(), CDNURL: cdn, Logger: a.log}); err != nil {
		return nil, err
	}
	if local != nil {
		p.blob = local.Handler(p.uploads.OnPut)
		if p.public == nil {
			p.public = local.PublicHandler()
		}
	}
	p.workflow, err = moderation.NewWorkflow(moderation.Config{Jobs: a.db, Blob: blob, Bus: bus, Players: a.db, Cases: a.db,
		MaxDeliver: cfg.MaxAttempts, Backoff: cfg.RetryBackoff, Limits: cfg.ImageLimits, ImageWorkers: cfg.ImageWorkers,
		StepBudget: cfg.ImageStepBudget, Uploads: a.db, Detector: detector, Policy: cfg.ModerationPolicy, Logger: a.log,
		OnSuspend: onSuspend, Kick: kick})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// openBlob opens a blob URL: file:DIR (default file:DATA/blobs) or s3://bucket?…. local is the
// store when it is a local one (its HTTP handlers are served by this binary).
func openBlob(ctx context.Context, a *app, blobURL, data, publicURL string) (st services.BlobStore, local *localblob.Store, err error) {
	if blobURL == "" {
		blobURL = "file:" + filepath.Join(data, "blobs")
	}
	switch {
	case strings.HasPrefix(blobURL, "file:"):
		secret, _, err := secrets.LoadOrCreateKey(ctx, a.secrets, "blob-key", 32)
		if err != nil {
			return nil, nil, fmt.Errorf("blob signing key: %w", err)
		}
		local, err := localblob.New(localblob.Config{Dir: strings.TrimPrefix(blobURL, "file:"), BaseURL: publicURL,
			Secret: secret, Logger: a.log})
		if err != nil {
			return nil, nil, fmt.Errorf("TRIVIUM_BLOB: %w", err)
		}
		return local, local, nil
	case strings.HasPrefix(blobURL, "s3://"):
		st, err := s3blob.Open(ctx, blobURL)
		if err != nil {
			return nil, nil, fmt.Errorf("TRIVIUM_BLOB: %w", err)
		}
		if err := st.EnsureBucket(ctx); err != nil {
			return nil, nil, fmt.Errorf("TRIVIUM_BLOB: %w", err)
		}
		return st, nil, nil
	default:
		return nil, nil, fmt.Errorf("TRIVIUM_BLOB %q: use file:DIR or s3://bucket?endpoint=…&path_style=1", blobURL)
	}
}

// openDetector opens TRIVIUM_MODERATION: local, an http(s):// classifier URL, or rekognition
// (credentials and region from the usual AWS environment).
func openDetector(ctx context.Context, v string, limits moderation.Limits) (moderation.Detector, error) {
	switch {
	case v == "" || v == "local":
		return moderation.LocalDetector{Limits: limits}, nil
	case strings.HasPrefix(v, "http://"), strings.HasPrefix(v, "https://"):
		return moderation.HTTPDetector{URL: v}, nil
	case v == "rekognition":
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("TRIVIUM_MODERATION=rekognition: %w", err)
		}
		return modrek.New(awsrek.NewFromConfig(cfg), modrek.Config{}), nil
	default:
		return nil, fmt.Errorf("TRIVIUM_MODERATION %q: use local, rekognition or an http(s):// classifier URL", v)
	}
}

// moderationPolicy reads the thresholds; the check that review comes before reject is here so
// a swapped pair fails at start-up rather than rejecting what should be reviewed.
func moderationPolicy(s settings) (moderation.Policy, error) {
	reject, err1 := strconv.ParseFloat(s["moderation-reject-at"], 64)
	review, err2 := strconv.ParseFloat(s["moderation-review-at"], 64)
	if err1 != nil || err2 != nil || review <= 0 || reject > 100 || review > reject {
		return moderation.Policy{}, fmt.Errorf("TRIVIUM_MODERATION_REVIEW_AT (%s) and TRIVIUM_MODERATION_REJECT_AT (%s) must be confidences with 0 < review ≤ reject ≤ 100",
			s["moderation-review-at"], s["moderation-reject-at"])
	}
	return moderation.Policy{RejectAt: reject, ReviewAt: review}, nil
}

// runUploadEvents completes uploads from the blob store's object-created events
// (TRIVIUM_UPLOAD_EVENTS): nats:SUBJECT on the bus's NATS server (versitygw's event sink) or
// sqs://… (S3 → EventBridge → SQS). Without it, uploads complete by the local store's callback
// or the client's …/complete call. Every source ends in Arrived.
func runUploadEvents(ctx context.Context, a *app, v string, uploads *avatars.Service) error {
	if subject, ok := strings.CutPrefix(v, "nats:"); ok {
		return a.bus.ListenRaw(ctx, subject, "trivium-upload-events", func(ctx context.Context, data []byte, _ string) error {
			evs, err := sqsevents.ParseBody(string(data))
			if err != nil {
				return err
			}
			for _, ev := range evs {
				if err := uploads.Arrived(ctx, ev.Key); err != nil {
					return err
				}
			}
			return nil
		})
	}
	c, err := sqsevents.Open(ctx, v, sqsevents.Config{Logger: a.log})
	if err != nil {
		return fmt.Errorf("TRIVIUM_UPLOAD_EVENTS: %w", err)
	}
	return c.Run(ctx, func(ctx context.Context, ev sqsevents.ObjectCreated) error {
		return uploads.Arrived(ctx, ev.Key)
	})
}
