package moderation

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/trivium-game/trivium/moderation/corpus"
)

func validThumbnails(t *testing.T, data []byte, declared string) []Derived {
	t.Helper()
	info, err := Validate(data, declared, Limits{})
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	out, err := Thumbnail(data, info)
	if err != nil {
		t.Fatalf("Thumbnail: %v", err)
	}
	if len(out) != 2 || out[0].Size != LargeThumbnail || out[1].Size != SmallThumbnail {
		t.Fatalf("got %d thumbnails %+v, want 256 then 64", len(out), out)
	}
	for _, d := range out {
		sum := sha256.Sum256(d.Data)
		if d.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("SHA256 %s does not match the data", d.SHA256)
		}
	}
	return out
}

func decodeDerived(t *testing.T, d Derived) image.Image {
	t.Helper()
	var img image.Image
	var err error
	switch d.ContentType {
	case "image/jpeg":
		img, err = jpeg.Decode(bytes.NewReader(d.Data))
	case "image/png":
		img, err = png.Decode(bytes.NewReader(d.Data))
	default:
		t.Fatalf("unexpected content type %q", d.ContentType)
	}
	if err != nil {
		t.Fatalf("decode %s thumbnail: %v", d.ContentType, err)
	}
	if b := img.Bounds(); b.Dx() != d.Size || b.Dy() != d.Size {
		t.Fatalf("thumbnail is %v, want %d×%d", b, d.Size, d.Size)
	}
	return img
}

// colourAt names the dominant channel of a pixel: "red", "blue", "green" or "transparent".
func colourAt(img image.Image, x, y int) string {
	r, g, b, a := img.At(x, y).RGBA()
	switch {
	case a < 0x8000:
		return "transparent"
	case r > g && r > b:
		return "red"
	case b > r && b > g:
		return "blue"
	case g > r && g > b:
		return "green"
	}
	return "grey"
}

// The source is 120×60, red on the left and blue on the right. Each EXIF orientation says how to
// turn the stored pixels to display them; the thumbnail must show the displayed picture.
func TestThumbnailAppliesEXIFOrientation(t *testing.T) {
	src := encodeJPEG(t, splitImage(120, 60, red, blue))
	tests := []struct {
		orientation uint16
		// colours at the middle of the left, right, top and bottom edges of the thumbnail
		left, right, top, bottom string
	}{
		{1, "red", "blue", "", ""},
		{2, "blue", "red", "", ""}, // mirrored
		{3, "blue", "red", "", ""}, // upside down
		{6, "", "", "red", "blue"}, // rotate 90° clockwise: the left edge becomes the top
		{8, "", "", "blue", "red"}, // rotate 90° counter-clockwise: the left edge becomes the bottom
		{5, "", "", "red", "blue"}, // transpose: the left edge becomes the top
		{7, "", "", "blue", "red"}, // transverse
		{4, "red", "blue", "", ""}, // flipped vertically: left and right stay
	}
	for _, tc := range tests {
		data := insertJPEGSegment(src, 0xE1, exifBlock(binary.BigEndian, tc.orientation))
		for _, d := range validThumbnails(t, data, "image/jpeg") {
			img := decodeDerived(t, d)
			n := d.Size
			for _, p := range []struct {
				edge string
				x, y int
				want string
			}{
				{"left", n / 4, n / 2, tc.left},
				{"right", n - n/4, n / 2, tc.right},
				{"top", n / 2, n / 4, tc.top},
				{"bottom", n / 2, n - n/4, tc.bottom},
			} {
				if p.want == "" {
					continue
				}
				if got := colourAt(img, p.x, p.y); got != p.want {
					t.Errorf("orientation %d, %d px: %s is %s, want %s", tc.orientation, n, p.edge, got, p.want)
				}
			}
		}
	}
}

// jpegMarkersBeforeScan lists the markers from SOI up to the first SOS.
func jpegMarkersBeforeScan(t *testing.T, b []byte) []byte {
	t.Helper()
	var markers []byte
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		markers = append(markers, m)
		if m == 0xDA {
			return markers
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	t.Fatal("no SOS")
	return nil
}

func TestThumbnailCarriesNoEXIFOrGPS(t *testing.T) {
	data := insertJPEGSegment(encodeJPEG(t, noiseImage(300, 200, color.NRGBA{}, color.NRGBA{255, 255, 255, 255}, 7)),
		0xE1, exifBlock(binary.BigEndian, 6))
	if !bytes.Contains(data, []byte("Exif")) || !bytes.Contains(data, gpsLatitude) {
		t.Fatal("the source must carry the EXIF and GPS bytes for this test to mean anything")
	}
	for _, d := range validThumbnails(t, data, "image/jpeg") {
		if d.ContentType != "image/jpeg" {
			t.Fatalf("opaque source gave %s, want image/jpeg", d.ContentType)
		}
		if bytes.Contains(d.Data, []byte("Exif")) || bytes.Contains(d.Data, gpsLatitude) {
			t.Fatalf("%d px thumbnail still carries EXIF/GPS bytes", d.Size)
		}
		lay, err := scanJPEG(d.Data)
		if err != nil {
			t.Fatalf("thumbnail structure: %v", err)
		}
		if lay.end != len(d.Data) {
			t.Fatalf("thumbnail has %d bytes after EOI", len(d.Data)-lay.end)
		}
		for _, m := range jpegMarkersBeforeScan(t, d.Data) {
			if m >= 0xE0 && m <= 0xEF || m == 0xFE {
				t.Fatalf("%d px thumbnail has metadata segment 0xFF%X", d.Size, m)
			}
		}
	}
}

func TestThumbnailOfTransparentPNGIsPNGAndKeepsAlpha(t *testing.T) {
	// 100×50: left half opaque green, right half fully transparent; the centre crop keeps both.
	src := splitImage(100, 50, green, color.NRGBA{})
	for _, d := range validThumbnails(t, encodePNG(t, src), "image/png") {
		if d.ContentType != "image/png" {
			t.Fatalf("transparent source gave %s, want image/png", d.ContentType)
		}
		img := decodeDerived(t, d)
		n := d.Size
		if got := colourAt(img, n/8, n/2); got != "green" {
			t.Fatalf("%d px: left is %s, want opaque green", n, got)
		}
		if _, _, _, a := img.At(n-n/8, n/2).RGBA(); a != 0 {
			t.Fatalf("%d px: right alpha is %d, want 0", n, a)
		}
	}
}

func TestThumbnailOfOpaquePNGIsJPEG(t *testing.T) {
	for _, d := range validThumbnails(t, encodePNG(t, splitImage(64, 64, red, blue)), "image/png") {
		if d.ContentType != "image/jpeg" || d.Ext() != ".jpg" {
			t.Fatalf("opaque PNG gave %s (%s), want image/jpeg", d.ContentType, d.Ext())
		}
		decodeDerived(t, d)
	}
}

func TestThumbnailOfWebP(t *testing.T) {
	transparent := webpLossless(t, splitImage(8, 8, color.NRGBA{R: 255, A: 255}, color.NRGBA{}))
	for _, d := range validThumbnails(t, transparent, "image/webp") {
		if d.ContentType != "image/png" || d.Ext() != ".png" {
			t.Fatalf("transparent WebP gave %s, want image/png", d.ContentType)
		}
		img := decodeDerived(t, d)
		if got := colourAt(img, d.Size/8, d.Size/2); got != "red" {
			t.Fatalf("left is %s, want red", got)
		}
		if got := colourAt(img, d.Size-d.Size/8, d.Size/2); got != "transparent" {
			t.Fatalf("right is %s, want transparent", got)
		}
	}
	opaque := webpLossless(t, splitImage(8, 8, color.NRGBA{R: 255, A: 255}, color.NRGBA{B: 255, A: 255}))
	for _, d := range validThumbnails(t, opaque, "image/webp") {
		if d.ContentType != "image/jpeg" {
			t.Fatalf("opaque WebP gave %s, want image/jpeg", d.ContentType)
		}
	}
}

func TestThumbnailIsDeterministicSoKeysAreContentAddressed(t *testing.T) {
	data := encodeJPEG(t, noiseImage(200, 150, color.NRGBA{}, color.NRGBA{255, 255, 255, 255}, 9))
	a := validThumbnails(t, data, "image/jpeg")
	b := validThumbnails(t, data, "image/jpeg")
	for i := range a {
		if a[i].SHA256 != b[i].SHA256 {
			t.Fatalf("%d px: two runs gave %s and %s", a[i].Size, a[i].SHA256, b[i].SHA256)
		}
	}
	if a[0].SHA256 == a[1].SHA256 {
		t.Fatal("the two sizes share a hash")
	}
}

func TestThumbnailRefusesDataThatDoesNotMatchItsInfo(t *testing.T) {
	data := encodePNG(t, splitImage(40, 20, red, blue))
	info, err := Validate(data, "image/png", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	bomb := corpus.BombPNG(30000, 30000)
	if _, err := Thumbnail(bomb, info); err == nil {
		t.Fatal("Thumbnail decoded an image its info does not describe")
	}
	info.Format = FormatJPEG
	if _, err := Thumbnail(data, info); err == nil {
		t.Fatal("Thumbnail accepted a PNG described as a JPEG")
	}
}

// BenchmarkThumbnail12MP measures the whole derivation from a 4000×3000 camera-sized JPEG.
func BenchmarkThumbnail12MP(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	for y := 0; y < 3000; y++ {
		for x := 0; x < 4000; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(x), uint8(y), uint8(x^y), 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	info, err := Validate(data, "image/jpeg", Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Thumbnail(data, info); err != nil {
			b.Fatal(err)
		}
	}
}

// fillSquare replaces imaging.Fill for speed; it must look the same. The source is larger than
// prefilterFactor×256 so the box pre-shrink is exercised, with detail at several frequencies.
func TestFillSquareLooksLikeImagingFill(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 1300, 1100))
	for y := 0; y < 1100; y++ {
		for x := 0; x < 1300; x++ {
			i := src.PixOffset(x, y)
			src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3] = uint8(x/5), uint8(y/5), uint8((x/40+y/40)%2*255), 255
		}
	}
	got := fillSquare(src, LargeThumbnail)
	want := imaging.Fill(src, LargeThumbnail, LargeThumbnail, imaging.Center, imaging.Lanczos)
	var diff float64
	for i := range got.Pix {
		diff += math.Abs(float64(got.Pix[i]) - float64(want.Pix[i]))
	}
	if mean := diff / float64(len(got.Pix)); mean > 2 {
		t.Fatalf("mean difference from imaging.Fill is %.2f levels per channel, want ≤ 2", mean)
	}
}
