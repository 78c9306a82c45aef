package moderation

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// layout is what a structural walk of the container found: where the image ends, which byte
// ranges are metadata (everything that is not compressed pixel data), and the EXIF orientation.
type layout struct {
	end         int
	meta        [][]byte
	orientation int
	mpf         bool // JPEG with a Multi-Picture Format index: more JPEGs follow the first EOI

	// What the decoder will allocate depends on these header facts (see decodedBytes).
	scans int        // JPEG: start-of-scan markers, each a full pass of the decoder over its blocks
	jpeg  jpegFrame  // JPEG: the frame header
	png   pngHeader  // PNG: IHDR and whether tRNS is present
	webp  webpChunks // WebP: which image chunks are present
}

// jpegFrame is what a JPEG's SOF (and Adobe APP14) segments say about the decoded image.
type jpegFrame struct {
	progressive bool
	sampling    [][2]int // per component: horizontal and vertical sampling factors
	rgb         bool     // components R, G, B or Adobe transform 0: decoded, then converted to RGBA
}

type pngHeader struct {
	depth, colorType byte
	interlaced, trns bool
}

type webpChunks struct {
	lossy, lossless, alpha bool
}

func scanLayout(format string, b []byte) (layout, error) {
	switch format {
	case FormatJPEG:
		return scanJPEG(b)
	case FormatPNG:
		return scanPNG(b)
	case FormatWebP:
		return scanWebP(b)
	}
	return layout{}, reject("unsupported format %q", format)
}

var errJPEGTruncated = &Rejection{Reason: "the JPEG file is truncated (it does not end with an end-of-image marker)"}

// scanJPEG walks the marker segments from SOI to EOI, skipping entropy-coded data after each SOS
// (where 0xFF is always followed by a stuffed 0x00, a restart marker or the next marker).
func scanJPEG(b []byte) (layout, error) {
	lay := layout{orientation: 1}
	exifSeen := false
	i := 2 // after SOI
	for {
		if i >= len(b) {
			return lay, errJPEGTruncated
		}
		if b[i] != 0xFF {
			// Extraneous bytes before a marker: libjpeg and image/jpeg skip them with a warning, so
			// do we, but they are searched for signatures like any metadata.
			k := bytes.IndexByte(b[i:], 0xFF)
			if k < 0 {
				return lay, errJPEGTruncated
			}
			lay.meta = append(lay.meta, b[i:i+k])
			i += k
		}
		for i < len(b) && b[i] == 0xFF { // fill bytes
			i++
		}
		if i >= len(b) {
			return lay, errJPEGTruncated
		}
		m := b[i]
		i++
		switch {
		case m == 0xD9: // EOI
			lay.end = i
			return lay, nil
		case m >= 0xD0 && m <= 0xD7, m == 0x01, m == 0x00: // no length; "\xff\x00" is extraneous data
			continue
		case m == 0xD8:
			return lay, reject("the JPEG file is corrupt (unexpected marker at byte %d)", i-1)
		}
		if i+2 > len(b) {
			return lay, errJPEGTruncated
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 {
			return lay, reject("the JPEG file is corrupt (bad segment length at byte %d)", i)
		}
		if i+n > len(b) {
			return lay, errJPEGTruncated
		}
		payload := b[i+2 : i+n]
		lay.meta = append(lay.meta, payload)
		if m == 0xE1 && !exifSeen && bytes.HasPrefix(payload, []byte("Exif\x00\x00")) {
			exifSeen = true
			lay.orientation = exifOrientation(payload[6:])
		}
		if m == 0xE2 && bytes.HasPrefix(payload, []byte("MPF\x00")) {
			lay.mpf = true
		}
		if isSOF(m) && lay.jpeg.sampling == nil {
			lay.jpeg.progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
			if len(payload) >= 6 {
				nc := int(payload[5])
				var ids []byte
				for c := 0; c < nc && 6+3*c+2 < len(payload); c++ {
					hv := payload[6+3*c+1]
					lay.jpeg.sampling = append(lay.jpeg.sampling, [2]int{int(hv >> 4), int(hv & 0x0F)})
					ids = append(ids, payload[6+3*c])
				}
				if string(ids) == "RGB" {
					lay.jpeg.rgb = true
				}
			}
		}
		if m == 0xEE && len(payload) >= 12 && bytes.HasPrefix(payload, []byte("Adobe")) && payload[11] == 0 {
			lay.jpeg.rgb = true
		}
		i += n
		if m != 0xDA { // not SOS
			continue
		}
		lay.scans++
		for {
			k := bytes.IndexByte(b[i:], 0xFF)
			if k < 0 || i+k+1 >= len(b) {
				return lay, errJPEGTruncated
			}
			i += k
			next := b[i+1]
			if next == 0x00 || (next >= 0xD0 && next <= 0xD7) {
				i += 2
				continue
			}
			if next == 0xFF {
				i++
				continue
			}
			break // b[i] starts the next marker
		}
	}
}

// isSOF reports the start-of-frame markers: C0–CF except DHT (C4), JPG (C8) and DAC (CC).
func isSOF(m byte) bool { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC }

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF-structured EXIF block. Anything missing or
// malformed means the default orientation: EXIF is advisory and must never fail an upload.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	if order.Uint16(t[2:]) != 42 {
		return 1
	}
	off := int64(order.Uint32(t[4:]))
	if off+2 > int64(len(t)) {
		return 1
	}
	count := int(order.Uint16(t[off:]))
	for k := 0; k < count; k++ {
		e := off + 2 + int64(k)*12
		if e+12 > int64(len(t)) {
			return 1
		}
		if order.Uint16(t[e:]) != 0x0112 {
			continue
		}
		const typeShort = 3
		if order.Uint16(t[e+2:]) != typeShort || order.Uint32(t[e+4:]) < 1 {
			return 1
		}
		if v := int(order.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

var errPNGTruncated = &Rejection{Reason: "the PNG file is truncated (it has no IEND chunk)"}

// scanPNG walks the chunks up to IEND. IDAT is compressed pixel data; every other chunk counts as
// metadata.
func scanPNG(b []byte) (layout, error) {
	lay := layout{orientation: 1}
	i := 8
	for {
		if i+8 > len(b) {
			return lay, errPNGTruncated
		}
		n := int64(binary.BigEndian.Uint32(b[i:]))
		if n > 1<<31-1 {
			return lay, reject("the PNG file is corrupt (bad chunk length at byte %d)", i)
		}
		typ := string(b[i+4 : i+8])
		end := int64(i) + 12 + n
		if end > int64(len(b)) {
			return lay, errPNGTruncated
		}
		if typ != "IDAT" {
			lay.meta = append(lay.meta, b[i+8:int64(i)+8+n])
		}
		switch {
		case typ == "IHDR" && n == 13:
			lay.png.depth, lay.png.colorType, lay.png.interlaced = b[i+16], b[i+17], b[i+20] != 0
		case typ == "tRNS":
			lay.png.trns = true
		}
		i = int(end)
		if typ == "IEND" {
			lay.end = i
			return lay, nil
		}
	}
}

// scanWebP checks the RIFF size against the file and walks the chunks inside it. VP8, VP8L,
// ALPH and ANMF hold image data; the rest (VP8X, ICCP, EXIF, XMP, unknown) is metadata.
func scanWebP(b []byte) (layout, error) {
	lay := layout{orientation: 1}
	riff := int64(binary.LittleEndian.Uint32(b[4:8]))
	total := 8 + riff
	if riff < 4 {
		return lay, reject("the WebP file is corrupt (bad RIFF size)")
	}
	if total > int64(len(b)) {
		return lay, reject("the WebP file is truncated (the RIFF header announces %d bytes, the file has %d)", total, len(b))
	}
	i := int64(12)
	for i < total {
		if i+8 > total {
			return lay, reject("the WebP file is corrupt (a chunk header runs past the RIFF size)")
		}
		fourcc := string(b[i : i+4])
		n := int64(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + n
		if end > total {
			return lay, reject("the WebP file is corrupt (chunk %q runs past the RIFF size)", strings.TrimSpace(fourcc))
		}
		switch fourcc {
		case "VP8 ":
			lay.webp.lossy = true
		case "VP8L":
			lay.webp.lossless = true
		case "ALPH":
			lay.webp.alpha = true
		case "ANMF":
		default:
			lay.meta = append(lay.meta, b[i+8:end])
		}
		i = end + n%2 // chunks are padded to an even size
	}
	lay.end = int(total)
	return lay, nil
}

// checkTrailer refuses bytes after the image's end marker: that is where a ZIP (or anything
// else) rides along in a polyglot. Zero padding, which some encoders leave, is tolerated. So are
// the extra images of a Multi-Picture Format JPEG (the gain map of Android Ultra HDR and recent
// iPhone photos, stereo pairs), which sit after the primary image's EOI: when the primary
// declares MPF, the trailer may be a run of complete, well-formed JPEG streams, and their
// metadata is returned to be searched like the primary's.
func checkTrailer(format string, lay layout, trailer []byte) ([][]byte, error) {
	var meta [][]byte
	rest := bytes.TrimLeft(trailer, "\x00")
	for lay.mpf && sniff(rest) == FormatJPEG {
		sub, err := scanJPEG(rest)
		if err != nil {
			break
		}
		meta = append(meta, sub.meta...)
		rest = bytes.TrimLeft(rest[sub.end:], "\x00")
	}
	if len(rest) == 0 {
		return meta, nil
	}
	what := "data"
	if name, ok := findSignature(rest, signatures); ok {
		what = name
	}
	return nil, reject("the file has %s (%s) appended after the end of the %s image; upload a plain image",
		what, humanBytes(int64(len(rest))), formatNames[format])
}

type signature struct {
	name    string
	pattern string
	fold    bool // pattern is lower case and matched ASCII-case-insensitively, as HTML parsers do
}

var (
	zipEOCD    = signature{"a ZIP archive", "PK\x05\x06", false}
	signatures = []signature{
		{"a ZIP archive", "PK\x03\x04", false},
		{"a ZIP archive", "PK\x01\x02", false},
		zipEOCD,
		{"a PDF document", "%PDF-", false},
		{"an HTML document", "<html", true},
		{"an HTML document", "<!doctype html", true},
		{"an HTML document", "<body", true},
		{"an HTML document", "<script", true},
		{"an HTML document", "<iframe", true},
		{"an SVG document", "<svg", true},
		{"a PHP script", "<?php", true},
	}
)

// Where other programs look for their own format: browsers and PDF readers sniff the first
// bytes, ZIP readers search the last 64 KiB (+22 bytes of end record) for the central directory.
const (
	headWindow = 1024
	tailWindow = 65535 + 22
)

// checkSignatures looks for other formats' signatures in the metadata, in the head of the file
// and, for the ZIP end-of-central-directory record, in the tail. Compressed pixel data elsewhere
// is not searched: it is effectively random and would match four-byte signatures by chance about
// once in every 4 GiB scanned, refusing honest photos for nothing.
func checkSignatures(b []byte, meta [][]byte) error {
	found := func(name string) error {
		return reject("the file contains %s hidden inside the image (a polyglot file); upload a plain image", name)
	}
	for _, m := range meta {
		if name, ok := findSignature(m, signatures); ok {
			return found(name)
		}
	}
	if name, ok := findSignature(b[:min(len(b), headWindow)], signatures); ok {
		return found(name)
	}
	if name, ok := findSignature(b[max(0, len(b)-tailWindow):], []signature{zipEOCD}); ok {
		return found(name)
	}
	return nil
}

func findSignature(b []byte, sigs []signature) (string, bool) {
	var lower []byte
	for _, s := range sigs {
		hay := b
		if s.fold {
			if lower == nil {
				lower = asciiLower(b)
			}
			hay = lower
		}
		if bytes.Contains(hay, []byte(s.pattern)) {
			return s.name, true
		}
	}
	return "", false
}

func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// decodedBytes is what decoding an image of w×h with these header facts allocates for pixels
// in Go's decoders (image/jpeg, image/png, x/image/webp), as an upper bound; the pixel limits
// alone would admit a 16-bit 4096×4096 PNG at 128 MiB or a progressive JPEG whose coefficient
// buffers take four bytes per sample on top of the image.
func decodedBytes(format string, w, h int, lay layout) int64 {
	W, H := int64(w), int64(h)
	switch format {
	case FormatJPEG:
		return jpegDecodedBytes(W, H, lay.jpeg)
	case FormatPNG:
		var bpp int64 // bytes per pixel of the image the decoder returns
		wide := lay.png.depth == 16
		switch lay.png.colorType {
		case 0: // greyscale: Gray or Gray16; with a transparent colour NRGBA or NRGBA64
			bpp = 1
			if lay.png.trns {
				bpp = 4
			}
			if wide {
				bpp *= 2
			}
		case 3: // palette
			bpp = 1
		default: // truecolour, grey+alpha, truecolour+alpha: RGBA/NRGBA, or their 64-bit forms
			bpp = 4
			if wide {
				bpp = 8
			}
		}
		n := W * H * bpp
		if lay.png.interlaced {
			n *= 2 // each of the seven passes is decoded into its own image, then merged
		}
		return n
	case FormatWebP:
		if lay.webp.lossless {
			return W * H * 4
		}
		n := (W + 15) / 16 * 16 * ((H + 15) / 16 * 16) * 3 / 2 // YCbCr 4:2:0 in whole macroblocks
		if lay.webp.alpha {
			n += W * H * 5 // the alpha plane, and the lossless image it is coded as
		}
		return n
	}
	return 0
}

// jpegDecodedBytes follows image/jpeg: one plane per component, whole MCUs; progressive images
// also keep every block's 64 int32 coefficients until the last scan; RGB and CMYK images are
// converted into a 4-byte-per-pixel image at the end.
func jpegDecodedBytes(w, h int64, f jpegFrame) int64 {
	if len(f.sampling) == 0 {
		return 0
	}
	h0, v0 := max(int64(f.sampling[0][0]), 1), max(int64(f.sampling[0][1]), 1)
	if len(f.sampling) == 1 {
		h0, v0 = 1, 1 // a single component is non-interleaved: image/jpeg ignores its factors
	}
	mxx, myy := (w+8*h0-1)/(8*h0), (h+8*v0-1)/(8*v0)
	var n int64
	for _, s := range f.sampling {
		hi, vi := max(int64(s[0]), 1), max(int64(s[1]), 1)
		if len(f.sampling) == 1 {
			hi, vi = 1, 1
		}
		samples := 8 * hi * mxx * 8 * vi * myy
		n += samples
		if f.progressive {
			n += samples * 4
		}
	}
	if len(f.sampling) == 4 || (len(f.sampling) == 3 && f.rgb) {
		n += w * h * 4
	}
	return n
}
