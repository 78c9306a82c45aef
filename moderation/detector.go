package moderation

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
)

// Label is one finding of a detector. Confidence is a percentage, 0–100.
type Label struct {
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
}

// Detector screens an image for content that must not be published. It returns every label it
// found, whatever the confidence; the Policy decides.
type Detector interface {
	Detect(ctx context.Context, img []byte, contentType string) ([]Label, error)
}

// ImageDetector is a Detector that screens decoded pixels in this process. The workflow hands it
// the image it decoded for validation, so an upload is decoded once per run, and runs it on one
// of its bounded image workers within the step budget.
type ImageDetector interface {
	Detector
	DetectImage(ctx context.Context, img image.Image) ([]Label, error)
}

// DetectError is a failed detection. Permanent means the image itself is at fault (the
// classifier cannot process it) and retrying is pointless; otherwise — network, timeouts, 5xx,
// throttling, credentials or configuration — the call is worth retrying, and after the last
// attempt worth parking where an operator can redrive it once the cause is fixed.
type DetectError struct {
	Detector   string // "local", "http", "rekognition"
	StatusCode int    // HTTP status, when there was one
	Permanent  bool
	Err        error
}

func (e *DetectError) Error() string {
	kind := "retryable"
	if e.Permanent {
		kind = "permanent"
	}
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s detector (%s, status %d): %v", e.Detector, kind, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("%s detector (%s): %v", e.Detector, kind, e.Err)
}

func (e *DetectError) Unwrap() error { return e.Err }

// IsPermanent reports whether retrying err cannot help: a *DetectError marked Permanent, or a
// *Rejection.
func IsPermanent(err error) bool {
	var de *DetectError
	if errors.As(err, &de) {
		return de.Permanent
	}
	return IsRejection(err)
}

// Labels the LocalDetector reports.
const (
	LabelSuggestive = "Suggestive"
	LabelBlank      = "Blank Image"
)

// Tuning of the LocalDetector, named so its behaviour can be read in one place.
const (
	localSamples         = 256  // at most this many samples per side of the sampling grid
	localSkinScale       = 80.0 // Suggestive confidence = localSkinScale × skin fraction
	localSkinMinFraction = 0.25 // below this skin fraction no Suggestive label is reported
	localBlankStdDev     = 3.0  // luma standard deviation (0–255) under which an image is uniform
	localBlankMinOpaque  = 0.01 // under this fraction of opaque pixels an image is blank
	localBlankConfidence = 30.0
)

// LocalDetector is the built-in, pure-Go screen used when no classifier is configured. It is a
// fast, deterministic heuristic and NOT a nudity classifier: it cannot tell a face close-up, a
// beach or a wooden table from nudity, and it misses anything drawn in non-skin colours. What it
// checks, on a grid of at most 256×256 pixels sampled from the decoded image:
//
//   - Skin tone: a sample is skin when it passes both the RGB rule of Kovač et al. (R>95, G>40,
//     B>20, max−min>15, |R−G|>15, R>G, R>B) and the YCbCr box 77≤Cb≤127, 133≤Cr≤173; samples
//     that are more than half transparent are ignored. When at least 25% of the opaque samples
//     are skin it reports "Suggestive" with confidence 80 × the skin fraction — so never above
//     80: with the default Policy it can send an image to human review (≥ 62.5% skin) but never
//     reject one on its own.
//   - Blank: when the luma standard deviation is under 3 (a uniform image) or fewer than 1% of
//     the samples are opaque, it reports "Blank Image" at confidence 30 (informational: below the
//     default review threshold) and no skin label — a flat colour depicts nothing.
//
// Detect's image must be JPEG, PNG or WebP (sniffed from the bytes) and pass Inspect with Limits
// before it is decoded. Failures are permanent *DetectErrors.
type LocalDetector struct {
	Limits Limits // zero means the Default* limits
}

var _ ImageDetector = LocalDetector{}

// Detect implements Detector.
func (d LocalDetector) Detect(ctx context.Context, img []byte, contentType string) ([]Label, error) {
	fail := func(err error) error { return &DetectError{Detector: "local", Permanent: true, Err: err} }
	if err := ctx.Err(); err != nil {
		return nil, &DetectError{Detector: "local", Err: err}
	}
	format := sniff(img)
	if format == "" {
		return nil, fail(fmt.Errorf("%s is not a JPEG, PNG or WebP image", contentType))
	}
	info, err := Inspect(img, contentTypes[format], d.Limits)
	if err != nil {
		return nil, fail(err)
	}
	m, _, err := Decode(img, info)
	if err != nil {
		return nil, fail(err)
	}
	return screen(m), nil
}

// DetectImage implements ImageDetector.
func (LocalDetector) DetectImage(ctx context.Context, img image.Image) ([]Label, error) {
	if err := ctx.Err(); err != nil {
		return nil, &DetectError{Detector: "local", Err: err}
	}
	return screen(img), nil
}

func screen(m image.Image) []Label {
	b := m.Bounds()
	stepX := max(1, (b.Dx()+localSamples-1)/localSamples)
	stepY := max(1, (b.Dy()+localSamples-1)/localSamples)
	var samples, opaque, skin int
	var sum, sumSq float64
	for y := b.Min.Y; y < b.Max.Y; y += stepY {
		for x := b.Min.X; x < b.Max.X; x += stepX {
			samples++
			r16, g16, b16, a16 := m.At(x, y).RGBA()
			if a16 < 0x8000 {
				continue
			}
			opaque++
			// RGBA() is alpha-premultiplied; undo it to judge the colour that is seen.
			r := float64(r16) * 255 / float64(a16)
			g := float64(g16) * 255 / float64(a16)
			bl := float64(b16) * 255 / float64(a16)
			luma := 0.299*r + 0.587*g + 0.114*bl
			sum += luma
			sumSq += luma * luma
			if isSkin(r, g, bl) {
				skin++
			}
		}
	}
	if samples == 0 || float64(opaque)/float64(samples) < localBlankMinOpaque {
		return []Label{{Name: LabelBlank, Confidence: localBlankConfidence}}
	}
	mean := sum / float64(opaque)
	stddev := math.Sqrt(max(0, sumSq/float64(opaque)-mean*mean))
	if stddev < localBlankStdDev {
		return []Label{{Name: LabelBlank, Confidence: localBlankConfidence}}
	}
	fraction := float64(skin) / float64(opaque)
	if fraction < localSkinMinFraction {
		return []Label{}
	}
	return []Label{{Name: LabelSuggestive, Confidence: math.Round(localSkinScale*fraction*10) / 10}}
}

func isSkin(r, g, b float64) bool {
	hi, lo := max(r, g, b), min(r, g, b)
	if r <= 95 || g <= 40 || b <= 20 || hi-lo <= 15 || math.Abs(r-g) <= 15 || r <= g || r <= b {
		return false
	}
	cb := 128 - 0.168736*r - 0.331264*g + 0.5*b
	cr := 128 + 0.5*r - 0.418688*g - 0.081312*b
	return cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173
}
