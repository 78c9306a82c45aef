package moderation

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/trivium-game/trivium/moderation/corpus"
)

var (
	skinLo = color.NRGBA{R: 200, G: 140, B: 110, A: 255}
	skinHi = color.NRGBA{R: 230, G: 170, B: 140, A: 255}
	leafLo = color.NRGBA{R: 20, G: 90, B: 20, A: 255}
	leafHi = color.NRGBA{R: 80, G: 160, B: 70, A: 255}
)

// halfSkin is textured skin tones on the left, textured foliage on the right.
func halfSkin(w, h int) *image.NRGBA {
	img := noiseImage(w, h, leafLo, leafHi, 11)
	skin := noiseImage(w/2, h, skinLo, skinHi, 12)
	for y := 0; y < h; y++ {
		copy(img.Pix[y*img.Stride:], skin.Pix[y*skin.Stride:y*skin.Stride+4*(w/2)])
	}
	return img
}

func TestLocalDetectorScreensSkinToneAndBlankImages(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		ct       string
		want     []Label
		decision Decision
	}{
		{"textured skin tones fill the frame", encodePNG(t, noiseImage(200, 200, skinLo, skinHi, 1)), "image/png",
			[]Label{{LabelSuggestive, 80}}, DecisionInReview},
		{"half skin, half foliage", encodePNG(t, halfSkin(200, 200)), "image/png",
			[]Label{{LabelSuggestive, 40}}, DecisionAccepted},
		{"foliage", encodePNG(t, noiseImage(200, 200, leafLo, leafHi, 2)), "image/png",
			[]Label{}, DecisionAccepted},
		{"flat skin-coloured square depicts nothing", encodePNG(t, splitImage(64, 64, skinLo, skinLo)), "image/png",
			[]Label{{LabelBlank, 30}}, DecisionAccepted},
		{"fully transparent", webpLossless(t, splitImage(8, 8, color.NRGBA{}, color.NRGBA{})), "image/webp",
			[]Label{{LabelBlank, 30}}, DecisionAccepted},
		{"skin tones in a jpeg", encodeJPEG(t, noiseImage(300, 200, skinLo, skinHi, 3)), "image/jpeg",
			[]Label{{LabelSuggestive, 80}}, DecisionInReview},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			labels, err := LocalDetector{}.Detect(context.Background(), tc.data, tc.ct)
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if len(labels) != len(tc.want) {
				t.Fatalf("labels = %v, want %v", labels, tc.want)
			}
			for i, l := range labels {
				if l.Name != tc.want[i].Name || math.Abs(l.Confidence-tc.want[i].Confidence) > 1 {
					t.Fatalf("labels = %v, want %v (±1)", labels, tc.want)
				}
			}
			again, _ := LocalDetector{}.Detect(context.Background(), tc.data, tc.ct)
			if !reflect.DeepEqual(labels, again) {
				t.Fatalf("not deterministic: %v then %v", labels, again)
			}
			if d, reason := (Policy{}).Decide(labels); d != tc.decision {
				t.Fatalf("decision = %s (%s), want %s", d, reason, tc.decision)
			}
		})
	}
}

func TestLocalDetectorNeverRejectsOnItsOwn(t *testing.T) {
	labels, err := LocalDetector{}.Detect(context.Background(), encodePNG(t, noiseImage(100, 100, skinLo, skinHi, 5)), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range labels {
		if l.Confidence >= DefaultRejectAt {
			t.Fatalf("local label %v reaches the default reject threshold", l)
		}
	}
}

func TestLocalDetectorFailsPermanentlyOnWhatItCannotRead(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"text", []byte("just some text")},
		{"bomb header", corpus.BombPNG(30000, 30000)},
		{"truncated png", encodePNG(t, noiseImage(64, 64, skinLo, skinHi, 4))[:200]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := LocalDetector{}.Detect(context.Background(), tc.data, "image/png")
			runtime.ReadMemStats(&after)
			var de *DetectError
			if !errors.As(err, &de) || !de.Permanent || !IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent *DetectError", err)
			}
			if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
				t.Fatalf("allocated %d bytes refusing it", allocated)
			}
		})
	}
}

func TestLocalDetectorHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := LocalDetector{}.Detect(ctx, encodePNG(t, splitImage(8, 8, red, blue)), "image/png")
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable context.Canceled", err)
	}
}
