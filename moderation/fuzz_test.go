package moderation_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	_ "image/jpeg" // DecodeConfig of the thumbnails
	_ "image/png"
	"testing"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/moderation/corpus"
)

// fuzzLimits are tighter than the defaults so each run decodes at most 0.26 MP and the fuzzer
// spends its time on structure, not on pixels; the checks below hold for any limits.
var fuzzLimits = moderation.Limits{MaxBytes: 256 << 10, MaxWidth: 512, MaxHeight: 512, MaxPixels: 512 * 384}

var fuzzTypes = []string{"image/jpeg", "image/png", "image/webp", "IMAGE/PNG; charset=binary", "text/html", ""}

// FuzzValidateAndThumbnail feeds arbitrary bytes, declared as one of a few content types, to
// Validate and, when it accepts them, to Thumbnail. Properties: Validate refuses only with a
// *Rejection; what it accepts is inside the limits and matches the declared type; an accepted
// image always thumbnails into the two sizes, each a real image of its content type (PNG exactly
// when the source has transparency) with a matching digest, and each thumbnail is itself accepted
// by Validate with the same shape (the round trip the public copies take).
func FuzzValidateAndThumbnail(f *testing.F) {
	q := corpus.Quadrants(40, 30)
	jpg := corpus.JPEG(q)
	seeds := []struct {
		data []byte
		typ  int
	}{
		{jpg, 0},
		{corpus.WithEXIF(jpg, 6), 0},
		{corpus.WithEXIF(jpg, 9), 0}, // an orientation outside 1–8
		{corpus.PNG(q), 1},
		{corpus.TransparentPNG(16, 16), 1},
		{corpus.WebP(24, 24), 2},
		{corpus.BombPNG(100_000, 100_000), 1},
		{corpus.Truncated(corpus.PNG(q)), 1},
		{corpus.ZipPolyglot(jpg), 0},
		{corpus.Text(), 3},
		{jpg, 1}, // declared PNG
		{corpus.PNG(q), 4},
		{nil, 0},
		{corpus.ScanBombJPEG(64, 5), 0},   // progressive: accepted
		{corpus.ScanBombJPEG(64, 101), 0}, // one scan past the limit
		{corpus.PNG16(32, 24), 1},
	}
	if lossless, err := corpus.WebPLossless(q); err == nil {
		seeds = append(seeds, struct {
			data []byte
			typ  int
		}{lossless, 2})
	}
	for _, s := range seeds {
		f.Add(s.data, uint8(s.typ))
	}
	f.Fuzz(func(t *testing.T, data []byte, typ uint8) {
		declared := fuzzTypes[int(typ)%len(fuzzTypes)]
		info, err := moderation.Validate(data, declared, fuzzLimits)
		if err != nil {
			if !moderation.IsRejection(err) {
				t.Fatalf("Validate refused with %T %v, want a *Rejection", err, err)
			}
			if err.Error() == "" {
				t.Fatal("a rejection without a reason")
			}
			return
		}
		checkInfo(t, info, declared, int64(len(data)))
		thumbs, err := moderation.Thumbnail(data, info)
		if err != nil {
			t.Fatalf("Thumbnail of an accepted image %+v: %v", info, err)
		}
		if len(thumbs) != 2 || thumbs[0].Size != moderation.LargeThumbnail || thumbs[1].Size != moderation.SmallThumbnail {
			t.Fatalf("thumbnails %+v, want %d and %d px", thumbs, moderation.LargeThumbnail, moderation.SmallThumbnail)
		}
		for _, d := range thumbs {
			want := "image/jpeg"
			if info.HasAlpha {
				want = "image/png"
			}
			if d.ContentType != want {
				t.Fatalf("%d px thumbnail is %s for a source with alpha=%v", d.Size, d.ContentType, info.HasAlpha)
			}
			if sum := sha256.Sum256(d.Data); hex.EncodeToString(sum[:]) != d.SHA256 {
				t.Fatalf("%d px thumbnail digest %s does not match its bytes", d.Size, d.SHA256)
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(d.Data))
			if err != nil || "image/"+format != d.ContentType || cfg.Width != d.Size || cfg.Height != d.Size {
				t.Fatalf("%d px thumbnail decodes as %s %dx%d, %v", d.Size, format, cfg.Width, cfg.Height, err)
			}
			again, err := moderation.Validate(d.Data, d.ContentType, moderation.Limits{})
			if err != nil {
				t.Fatalf("our own %d px thumbnail is refused: %v", d.Size, err)
			}
			if again.Width != d.Size || again.Height != d.Size || again.Orientation != 1 {
				t.Fatalf("our own %d px thumbnail validates as %+v", d.Size, again)
			}
		}
	})
}

func checkInfo(t *testing.T, info moderation.ImageInfo, declared string, size int64) {
	t.Helper()
	ct := map[string]string{moderation.FormatJPEG: "image/jpeg", moderation.FormatPNG: "image/png", moderation.FormatWebP: "image/webp"}[info.Format]
	switch {
	case ct == "" || info.ContentType != ct:
		t.Fatalf("accepted as format %q content type %q", info.Format, info.ContentType)
	case !bytes.HasPrefix(bytes.ToLower([]byte(declared)), []byte(ct)):
		t.Fatalf("declared %q but accepted as %s", declared, ct)
	case info.Width <= 0 || info.Height <= 0 || info.Width > fuzzLimits.MaxWidth || info.Height > fuzzLimits.MaxHeight ||
		int64(info.Width)*int64(info.Height) > fuzzLimits.MaxPixels:
		t.Fatalf("accepted %dx%d beyond the limits %+v", info.Width, info.Height, fuzzLimits)
	case info.Size != size || size > fuzzLimits.MaxBytes:
		t.Fatalf("info size %d for %d bytes (limit %d)", info.Size, size, fuzzLimits.MaxBytes)
	case info.Orientation < 1 || info.Orientation > 8:
		t.Fatalf("orientation %d outside 1–8", info.Orientation)
	}
}
