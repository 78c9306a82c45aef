package moderation

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"runtime"
	"testing"

	"github.com/trivium-game/trivium/moderation/corpus"
)

// The scan walk counts start-of-scan markers only: 0xFF00 stuffing, restart markers and fill
// bytes inside entropy-coded data are data, even when the byte after them looks like SOS.
func TestScanJPEGCountsScansAndSkipsEntropyCodedData(t *testing.T) {
	sos := []byte{0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0}
	var b []byte
	b = append(b, 0xFF, 0xD8)
	b = append(b, sos...)
	b = append(b, 0x12, 0xFF, 0x00, 0xDA, 0x34, 0xFF, 0xD0, 0xDA, 0x56, 0xFF, 0xFF, 0xD7, 0x78) // stuffing, RST0, fill + RST7
	b = append(b, 0xFF, 0xC4, 0, 3, 0x00)                                                       // a segment between scans
	b = append(b, sos...)
	b = append(b, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0xD3, 0xFF, 0x00)
	b = append(b, 0xFF, 0xD9)
	lay, err := scanJPEG(b)
	if err != nil {
		t.Fatal(err)
	}
	if lay.scans != 2 || lay.end != len(b) {
		t.Fatalf("scans %d end %d, want 2 scans ending at %d", lay.scans, lay.end, len(b))
	}

	tests := []struct {
		name  string
		data  []byte
		scans int
	}{
		{"baseline JPEG", corpus.JPEG(corpus.Quadrants(64, 48)), 1},
		{"progressive, 7 scans", corpus.ScanBombJPEG(64, 7), 7},
		{"progressive, 3000 scans (with stuffed 0xFF in every scan)", corpus.ScanBombJPEG(4096, 3000), 3000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lay, err := scanJPEG(tc.data)
			if err != nil || lay.scans != tc.scans || lay.end != len(tc.data) {
				t.Fatalf("scans %d end %d err %v, want %d scans ending at %d", lay.scans, lay.end, err, tc.scans, len(tc.data))
			}
		})
	}
}

// A scan bomb is refused by counting markers, before any pixel is decoded: rejecting the
// 4096×4096, 3,000-scan file allocates nothing like the 80 MiB a decode would.
func TestValidateRefusesJPEGsWithMoreScansThanTheLimit(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		limits Limits
		reason string // empty: accepted
	}{
		{"100 scans, the default limit", corpus.ScanBombJPEG(256, 100), Limits{}, ""},
		{"101 scans", corpus.ScanBombJPEG(256, 101), Limits{}, "the JPEG has 101 scans, the limit is 100 (re-save it as a baseline JPEG)"},
		{"4096² with 3000 scans", corpus.ScanBombJPEG(4096, 3000), Limits{}, "the JPEG has 3000 scans, the limit is 100"},
		{"a configured limit", corpus.ScanBombJPEG(64, 6), Limits{MaxJPEGScans: 5}, "the JPEG has 6 scans, the limit is 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.reason == "" {
				if _, err := Validate(tc.data, "image/jpeg", tc.limits); err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			mustReject(t, tc.data, "image/jpeg", tc.limits, tc.reason)
			runtime.ReadMemStats(&after)
			if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
				t.Fatalf("rejecting the bomb allocated %d bytes", allocated)
			}
		})
	}
}

func TestValidateRefusesImagesWhoseDecodeExceedsTheMemoryBudget(t *testing.T) {
	tests := []struct {
		name, declared string
		data           []byte
		limits         Limits
		reason         string // empty: accepted
	}{
		{"16-bit RGBA PNG 4096²", "image/png", corpus.PNG16(4096, 4096), Limits{},
			"decoding this 4096×4096 PNG takes 128 MiB of memory, the limit is 96 MiB; upload a smaller image or one with 8 bits per channel"},
		{"16-bit PNG over a configured budget", "image/png", corpus.PNG16(1024, 1024), Limits{MaxDecodedBytes: 4 << 20}, "takes 8 MiB of memory, the limit is 4 MiB"},
		{"8-bit PNG of the same size within it", "image/png", corpus.PNG(corpus.Quadrants(1024, 512)), Limits{MaxDecodedBytes: 4 << 20}, ""},
		{"progressive greyscale JPEG counts its coefficients", "image/jpeg", corpus.ScanBombJPEG(1024, 3), Limits{MaxDecodedBytes: 4 << 20}, "takes 5 MiB of memory"},
		{"baseline JPEG of the same size within it", "image/jpeg", corpus.JPEG(corpus.Quadrants(1024, 1024)), Limits{MaxDecodedBytes: 4 << 20}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.reason == "" {
				if _, err := Validate(tc.data, tc.declared, tc.limits); err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			mustReject(t, tc.data, tc.declared, tc.limits, tc.reason)
			runtime.ReadMemStats(&after)
			if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
				t.Fatalf("rejecting it allocated %d bytes", allocated)
			}
		})
	}
}

// decodedBytes is a model of Go's decoders; this holds it to what they really allocate: never
// less (it is a bound), and not far more (it would refuse honest images).
func TestDecodedBytesBoundsWhatTheDecodersAllocate(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 512, 512))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
	}
	var grayJPEG bytes.Buffer
	if err := jpeg.Encode(&grayJPEG, gray, nil); err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 512, 512), color.Palette{color.Black, color.White})
	alpha := corpus.Quadrants(512, 512)
	alpha.Pix[3] = 10
	tests := []struct {
		name string
		data []byte
	}{
		{"baseline JPEG 4:2:0", corpus.JPEG(noiseImage(512, 512, color.NRGBA{}, color.NRGBA{255, 255, 255, 255}, 4))},
		{"greyscale JPEG", grayJPEG.Bytes()},
		{"progressive greyscale JPEG", corpus.ScanBombJPEG(512, 5)},
		{"8-bit RGB PNG", corpus.PNG(corpus.Quadrants(512, 512))},
		{"8-bit RGBA PNG", corpus.PNG(alpha)},
		{"16-bit RGBA PNG", corpus.PNG16(512, 512)},
		{"greyscale PNG", corpus.PNG(gray)},
		{"palette PNG", corpus.PNG(pal)},
		{"lossless WebP", corpus.WebP(512, 512)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			format := sniff(tc.data)
			cfg, err := decodeConfig(format, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			lay, err := scanLayout(format, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			want := decodedBytes(format, cfg.Width, cfg.Height, lay)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := decode(format, tc.data); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			got := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("allocated %d, modelled %d", got, want)
			const decoderState = 128 << 10 // Huffman tables, zlib window, row buffers
			if got > want+decoderState || got < want/2 {
				t.Fatalf("decode allocated %d bytes, the model says %d", got, want)
			}
		})
	}
}
