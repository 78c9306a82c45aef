// Package rekognition screens avatars with Amazon Rekognition DetectModerationLabels, sending the
// image bytes inline. It implements moderation.Detector.
package rekognition

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	"github.com/aws/smithy-go"
	"github.com/disintegration/imaging"
	"golang.org/x/image/webp"

	"github.com/trivium-game/trivium/moderation"
)

// API is the part of *rekognition.Client this package uses.
type API interface {
	DetectModerationLabels(ctx context.Context, in *awsrek.DetectModerationLabelsInput, optFns ...func(*awsrek.Options)) (*awsrek.DetectModerationLabelsOutput, error)
}

var _ API = (*awsrek.Client)(nil)

// Defaults for Config.
const (
	// DefaultMinConfidence matches Rekognition's own default; labels below it are not returned.
	DefaultMinConfidence = 50
	// maxTranscodeSide bounds a WebP re-encoded for Rekognition: plenty to classify, and it keeps
	// the JPEG far below the 5 MB inline-bytes limit.
	maxTranscodeSide = 2048
)

// Config tunes a Detector. Zero fields take the defaults.
type Config struct {
	MinConfidence float32
}

// Detector calls DetectModerationLabels. Retries of throttling and 5xx are the SDK client's
// (its retryer); errors that survive them become *moderation.DetectError: invalid image format,
// image too large and invalid parameter are permanent, everything else (throttling, access
// denied, network) is retryable so the workflow can park and later redrive it.
type Detector struct {
	api           API
	minConfidence float32
}

var _ moderation.Detector = (*Detector)(nil)

// New returns a Detector using api, normally rekognition.NewFromConfig(awsConfig).
func New(api API, cfg Config) *Detector {
	if cfg.MinConfidence <= 0 {
		cfg.MinConfidence = DefaultMinConfidence
	}
	return &Detector{api: api, minConfidence: cfg.MinConfidence}
}

// Detect implements moderation.Detector. Rekognition reads only JPEG and PNG, so a WebP is
// first re-encoded as JPEG (composited on white, as it would be seen on a light page).
// Every label is returned, top-level categories (no parent) and their children alike.
func (d *Detector) Detect(ctx context.Context, img []byte, contentType string) ([]moderation.Label, error) {
	if strings.EqualFold(contentType, "image/webp") {
		jpg, err := webpToJPEG(img)
		if err != nil {
			return nil, &moderation.DetectError{Detector: "rekognition", Permanent: true, Err: err}
		}
		img = jpg
	}
	out, err := d.api.DetectModerationLabels(ctx, &awsrek.DetectModerationLabelsInput{
		Image:         &types.Image{Bytes: img},
		MinConfidence: aws.Float32(d.minConfidence),
	})
	if err != nil {
		return nil, &moderation.DetectError{Detector: "rekognition", Permanent: permanent(err),
			Err: fmt.Errorf("detect moderation labels: %w", err)}
	}
	labels := make([]moderation.Label, 0, len(out.ModerationLabels))
	for _, l := range out.ModerationLabels {
		if l.Name == nil || l.Confidence == nil {
			continue
		}
		labels = append(labels, moderation.Label{Name: *l.Name, Confidence: float64(*l.Confidence)})
	}
	return labels, nil
}

func permanent(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode() {
	case "InvalidImageFormatException", "ImageTooLargeException", "InvalidParameterException":
		return true
	}
	return false
}

func webpToJPEG(b []byte) ([]byte, error) {
	cfg, err := webp.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("read webp header: %w", err)
	}
	if cfg.Width > moderation.DefaultMaxWidth || cfg.Height > moderation.DefaultMaxHeight {
		return nil, fmt.Errorf("webp is %d×%d, larger than %d×%d", cfg.Width, cfg.Height, moderation.DefaultMaxWidth, moderation.DefaultMaxHeight)
	}
	src, err := webp.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode webp: %w", err)
	}
	if src.Bounds().Dx() > maxTranscodeSide || src.Bounds().Dy() > maxTranscodeSide {
		src = imaging.Fit(src, maxTranscodeSide, maxTranscodeSide, imaging.Lanczos)
	}
	flat := image.NewRGBA(src.Bounds())
	draw.Draw(flat, flat.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(flat, flat.Bounds(), src, src.Bounds().Min, draw.Over)
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, flat, imaging.JPEG, imaging.JPEGQuality(90)); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}
