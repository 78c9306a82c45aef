package moderation

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"

	"github.com/trivium-game/trivium/moderation/corpus"
)

// The test corpus is generated, not stored: every file below is built from its definition, so
// a reader can see exactly what each case contains.

var (
	red   = color.NRGBA{R: 230, G: 20, B: 20, A: 255}
	blue  = color.NRGBA{R: 20, G: 20, B: 230, A: 255}
	green = color.NRGBA{R: 20, G: 200, B: 20, A: 255}
)

// splitImage is w×h, left half one colour, right half another.
func splitImage(w, h int, left, right color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := left
			if x >= w/2 {
				c = right
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// noiseImage fills w×h with colours drawn uniformly from [lo, hi] per channel; seeded, so the
// same arguments give the same pixels.
func noiseImage(w, h int, lo, hi color.NRGBA, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, seed))
	ch := func(a, b uint8) uint8 { return a + uint8(rng.IntN(int(b-a)+1)) }
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{ch(lo.R, hi.R), ch(lo.G, hi.G), ch(lo.B, hi.B), 255})
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// insertJPEGSegment puts a marker segment right after SOI.
func insertJPEGSegment(jpg []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// gpsLatitude is the rational 29.34 (seconds of 48°51'29.34" N) as it sits in the EXIF block,
// to search the thumbnails for.
var gpsLatitude = []byte{0, 0, 0x0B, 0x76, 0, 0, 0, 0x64}

// exifBlock builds an APP1 "Exif" payload by hand: a TIFF header in the given byte order, IFD0
// with Orientation and a GPSInfo pointer, and a GPS IFD with latitude and longitude.
func exifBlock(order binary.ByteOrder, orientation uint16) []byte {
	var t bytes.Buffer
	w16 := func(v uint16) { _ = binary.Write(&t, order, v) }
	w32 := func(v uint32) { _ = binary.Write(&t, order, v) }
	entry := func(tag, typ uint16, count, value uint32) { w16(tag); w16(typ); w32(count); w32(value) }
	short := func(v uint16) uint32 { // a SHORT value is left-justified in the 4-byte field
		var b [4]byte
		order.PutUint16(b[:], v)
		return order.Uint32(b[:])
	}
	ascii := func(s string) uint32 {
		var b [4]byte
		copy(b[:], s)
		return order.Uint32(b[:])
	}
	if order == binary.LittleEndian {
		t.WriteString("II")
	} else {
		t.WriteString("MM")
	}
	w16(42)
	w32(8)
	const gpsIFD, latAt, lonAt = 38, 92, 116
	w16(2) // IFD0 at 8
	entry(0x0112, 3, 1, short(orientation))
	entry(0x8825, 4, 1, gpsIFD)
	w32(0)
	w16(4) // GPS IFD at 38
	entry(0x0001, 2, 2, ascii("N"))
	entry(0x0002, 5, 3, latAt)
	entry(0x0003, 2, 2, ascii("E"))
	entry(0x0004, 5, 3, lonAt)
	w32(0)
	for _, r := range [][2]uint32{{48, 1}, {51, 1}, {2934, 100}, {2, 1}, {17, 1}, {4012, 100}} {
		w32(r[0])
		w32(r[1])
	}
	return append([]byte("Exif\x00\x00"), t.Bytes()...)
}

// insertPNGChunk puts a chunk right after IHDR (8-byte signature + 25-byte IHDR chunk).
func insertPNGChunk(p []byte, typ string, data []byte) []byte {
	out := append([]byte{}, p[:33]...)
	out = append(out, corpus.PNGChunk(typ, data)...)
	return append(out, p[33:]...)
}

// jpegHeaderOnly is SOI, a JFIF APP0 and a baseline SOF0 announcing w×h with three components,
// nothing else. (Without JFIF, image/jpeg reads on to the SOS before it reports a config.)
func jpegHeaderOnly(w, h uint16) []byte {
	app0 := []byte{0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	sof := []byte{0xFF, 0xC0, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
	return append(append([]byte{0xFF, 0xD8}, app0...), sof...)
}

func zipArchive(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create("payload.html")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("not an avatar")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// webpLossless encodes img as a lossless WebP (corpus.WebPLossless) or fails the test.
func webpLossless(t testing.TB, img *image.NRGBA) []byte {
	t.Helper()
	out, err := corpus.WebPLossless(img)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
