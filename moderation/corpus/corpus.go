// Package corpus generates the avatar test corpus — real images and hostile files built from
// their definitions, so a reader sees exactly what each case holds. Tests of the workflow and of
// the server use it; nothing in the binary imports it.
package corpus

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// Colours of Quadrants: none is a skin tone, so the local detector passes them.
var (
	Blue   = color.NRGBA{R: 20, G: 40, B: 220, A: 255}
	Green  = color.NRGBA{R: 20, G: 180, B: 40, A: 255}
	Yellow = color.NRGBA{R: 230, G: 220, B: 30, A: 255}
	Navy   = color.NRGBA{R: 10, G: 10, B: 90, A: 255}
)

// Quadrants is a w×h image whose quadrants are Blue (top left), Green (top right), Yellow
// (bottom left) and Navy (bottom right), so orientation can be read off a thumbnail.
func Quadrants(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := Blue
			switch {
			case x >= w/2 && y < h/2:
				c = Green
			case x < w/2 && y >= h/2:
				c = Yellow
			case x >= w/2 && y >= h/2:
				c = Navy
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// JPEG encodes img at quality 90.
func JPEG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(err) // in-memory encoding of a valid image cannot fail
	}
	return buf.Bytes()
}

// PNG encodes img.
func PNG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// GPSMarker is the latitude rational (seconds 29.34 as 2934/100) of the GPS block WithEXIF
// writes, big-endian; a derived image containing it still carries the GPS position.
var GPSMarker = []byte{0, 0, 0x0B, 0x76, 0, 0, 0, 0x64}

// WithEXIF inserts an APP1 Exif segment right after SOI: IFD0 with Orientation and a GPSInfo
// pointer, and a GPS IFD with latitude 48°51'29.34" N (big-endian TIFF).
func WithEXIF(jpg []byte, orientation uint16) []byte {
	var t bytes.Buffer
	be := binary.BigEndian
	w16 := func(v uint16) { _ = binary.Write(&t, be, v) }
	w32 := func(v uint32) { _ = binary.Write(&t, be, v) }
	entry := func(tag, typ uint16, count, value uint32) { w16(tag); w16(typ); w32(count); w32(value) }
	t.WriteString("MM")
	w16(42)
	w32(8)
	const gpsIFD, latAt = 38, 68
	w16(2) // IFD0 at 8: 2 + 2×12 + 4 = 30 bytes
	entry(0x0112, 3, 1, uint32(orientation)<<16)
	entry(0x8825, 4, 1, gpsIFD)
	w32(0)
	w16(2) // GPS IFD at 38: 2 + 2×12 + 4 = 30 bytes
	entry(0x0001, 2, 2, uint32('N')<<24)
	entry(0x0002, 5, 3, latAt)
	w32(0)
	for _, r := range [][2]uint32{{48, 1}, {51, 1}, {2934, 100}} {
		w32(r[0])
		w32(r[1])
	}
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// TransparentPNG is Quadrants(w, h) with its right half fully transparent.
func TransparentPNG(w, h int) []byte {
	img := Quadrants(w, h)
	for y := range h {
		for x := w / 2; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{})
		}
	}
	return PNG(img)
}

// WebP is a lossless w×h WebP, left half Blue, right half Green.
func WebP(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := Blue
			if x >= w/2 {
				c = Green
			}
			img.SetNRGBA(x, y, c)
		}
	}
	out, err := WebPLossless(img)
	if err != nil {
		panic(err) // two colours always fit
	}
	return out
}

// WebPLossless encodes img as a lossless (VP8L) WebP, since x/image has no encoder. It uses the
// smallest part of the format: no transforms, no colour cache, one group of "simple" prefix codes.
// A simple code holds at most two symbols, so each channel may take at most two values across
// the image; a channel with one value costs no bits per pixel, with two values one bit.
func WebPLossless(img *image.NRGBA) ([]byte, error) {
	b := img.Bounds()
	// Channel order in the pixel stream and in the codes: green, red, blue, alpha.
	channel := [4]int{1, 0, 2, 3}
	var symbols [4][]uint8
	for ci, off := range channel {
		seen := map[uint8]bool{}
		for i := off; i < len(img.Pix); i += 4 {
			seen[img.Pix[i]] = true
		}
		for v := range 256 {
			if seen[uint8(v)] {
				symbols[ci] = append(symbols[ci], uint8(v))
			}
		}
		if len(symbols[ci]) > 2 {
			return nil, fmt.Errorf("WebPLossless: channel %d has %d values, at most 2 are supported", off, len(symbols[ci]))
		}
	}
	var w bitWriter
	w.write(0x2f, 8)
	w.write(uint64(b.Dx()-1), 14)
	w.write(uint64(b.Dy()-1), 14)
	w.write(1, 1) // alpha hint
	w.write(0, 3) // version
	w.write(0, 1) // no transform
	w.write(0, 1) // no colour cache
	w.write(0, 1) // no meta prefix codes
	simple := func(syms []uint8) {
		w.write(1, 1) // simple code
		w.write(uint64(len(syms)-1), 1)
		if syms[0] < 2 {
			w.write(0, 1)
			w.write(uint64(syms[0]), 1)
		} else {
			w.write(1, 1)
			w.write(uint64(syms[0]), 8)
		}
		if len(syms) == 2 {
			w.write(uint64(syms[1]), 8)
		}
	}
	for _, s := range symbols {
		simple(s)
	}
	simple([]uint8{0}) // distance code, unused
	for i := 0; i < len(img.Pix); i += 4 {
		for ci, off := range channel {
			if len(symbols[ci]) == 2 {
				// Canonical codes give the smaller symbol the code 0.
				bit := uint64(0)
				if img.Pix[i+off] == symbols[ci][1] {
					bit = 1
				}
				w.write(bit, 1)
			}
		}
	}
	vp8l := w.bytes()
	chunk := append([]byte("VP8L"), binary.LittleEndian.AppendUint32(nil, uint32(len(vp8l)))...)
	chunk = append(chunk, vp8l...)
	if len(vp8l)%2 == 1 {
		chunk = append(chunk, 0)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(chunk)))...)
	out = append(out, "WEBP"...)
	return append(out, chunk...), nil
}

// bitWriter packs bits least-significant first, as VP8L reads them.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *bitWriter) write(v uint64, bits uint) {
	w.acc |= v << w.n
	w.n += bits
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		return append(w.buf, byte(w.acc))
	}
	return w.buf
}

// PNGChunk is one PNG chunk: length, type, data and CRC.
func PNGChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// BombPNG is a decompression bomb's header: a valid IHDR announcing w×h RGBA pixels and no
// pixel data at all (30000×30000 would need 3.6 GB decoded).
func BombPNG(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	return append([]byte("\x89PNG\r\n\x1a\n"), PNGChunk("IHDR", ihdr)...)
}

// Truncated is the first two thirds of b, as an interrupted upload leaves it.
func Truncated(b []byte) []byte { return append([]byte{}, b[:len(b)*2/3]...) }

// ZipPolyglot is jpg with a ZIP archive appended: image viewers show the picture, unzip finds
// the archive (an HTML payload).
func ZipPolyglot(jpg []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create("payload.html")
	if err != nil {
		panic(err)
	}
	_, _ = f.Write([]byte("<script>alert(1)</script>"))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return append(append([]byte{}, jpg...), buf.Bytes()...)
}

// Text is a plain-text file, to be uploaded renamed as .png.
func Text() []byte { return []byte("these are not the pixels you are looking for\n") }
