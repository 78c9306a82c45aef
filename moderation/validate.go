// Package moderation turns an uploaded avatar into something safe to publish: it validates the
// bytes (format, size, decompression bombs, truncation, polyglots), screens them with a Detector,
// decides with a Policy, and derives metadata-free thumbnails. It is pure image and detector code;
// the durable workflow around it lives elsewhere.
package moderation

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"net/http"
	"strings"

	"golang.org/x/image/webp"

	"github.com/trivium-game/trivium/services"
)

// Defaults for Limits. 4096×4096 is 16.8 MP, so MaxPixels only binds when the sides are raised.
//
// DefaultMaxDecodedBytes admits every 8-bit image at 4096×4096 except a progressive JPEG with
// full-resolution colour, and progressive 4:2:0 photos up to about 13 MP; it refuses 16-bit PNGs
// of 4096×4096 (128 MiB each). A workflow run keeps its decoded image until its last image job,
// so decoded pixels in memory are bounded by (Workers + ImageWorkers) × MaxDecodedBytes.
//
// DefaultMaxJPEGScans is libjpeg-turbo's default scan limit: encoders write about ten, and each
// scan is a full pass of the decoder over the image, so thousands of tiny scans make a small
// file cost minutes of CPU.
const (
	DefaultMaxBytes        = services.UploadMaxBytes // what an upload may declare
	DefaultMaxWidth        = 4096
	DefaultMaxHeight       = 4096
	DefaultMaxPixels       = 25_000_000
	DefaultMaxDecodedBytes = 96 << 20
	DefaultMaxJPEGScans    = 100
)

// Limits bound what Validate accepts. Zero fields take the Default* values.
type Limits struct {
	MaxBytes  int64
	MaxWidth  int
	MaxHeight int
	MaxPixels int64
	// MaxDecodedBytes bounds the memory a decode allocates, computed from the headers before
	// decoding (width × height × bytes per pixel of the colour model and bit depth, plus the
	// decoder's own buffers).
	MaxDecodedBytes int64
	MaxJPEGScans    int // start-of-scan markers in a JPEG
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxWidth <= 0 {
		l.MaxWidth = DefaultMaxWidth
	}
	if l.MaxHeight <= 0 {
		l.MaxHeight = DefaultMaxHeight
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = DefaultMaxDecodedBytes
	}
	if l.MaxJPEGScans <= 0 {
		l.MaxJPEGScans = DefaultMaxJPEGScans
	}
	return l
}

// Image formats, as ImageInfo.Format names them.
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
	FormatWebP = "webp"
)

var contentTypes = map[string]string{
	FormatJPEG: "image/jpeg",
	FormatPNG:  "image/png",
	FormatWebP: "image/webp",
}

var formatNames = map[string]string{
	FormatJPEG: "JPEG",
	FormatPNG:  "PNG",
	FormatWebP: "WebP",
}

// ImageInfo describes a validated image. Width and Height are the stored pixel dimensions;
// Orientation is the EXIF orientation (1–8, 1 when absent) that Thumbnail applies.
type ImageInfo struct {
	ContentType string `json:"contentType"`
	Format      string `json:"format"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Orientation int    `json:"orientation"`
	Size        int64  `json:"size"`
	HasAlpha    bool   `json:"hasAlpha"`
}

// Rejection is an upload refused for what it contains. Reason is written for the player who
// uploaded it; retrying the same bytes can never succeed.
type Rejection struct {
	Reason string
}

func (r *Rejection) Error() string { return r.Reason }

func reject(format string, args ...any) *Rejection {
	return &Rejection{Reason: fmt.Sprintf(format, args...)}
}

// IsRejection reports whether err is (or wraps) a *Rejection.
func IsRejection(err error) bool {
	var r *Rejection
	return errors.As(err, &r)
}

// ReadImage reads an upload, stopping one byte past limits.MaxBytes so an oversized object is
// refused without being buffered whole.
func ReadImage(r io.Reader, limits Limits) ([]byte, error) {
	limits = limits.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, limits.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if int64(len(data)) > limits.MaxBytes {
		return nil, reject("the file is larger than the %s limit", humanBytes(limits.MaxBytes))
	}
	return data, nil
}

// Validate checks that data really is an image of declaredType and safe to process: Inspect,
// then a full decode. Every refusal is a *Rejection; there are no other errors.
func Validate(data []byte, declaredType string, limits Limits) (ImageInfo, error) {
	info, err := Inspect(data, declaredType, limits)
	if err != nil {
		return ImageInfo{}, err
	}
	_, info, err = Decode(data, info)
	return info, err
}

// Inspect does every check of Validate that needs no pixels, in order: size, the format sniffed
// from the bytes against declaredType, the dimensions read from the header (before any pixel is
// decoded, so a decompression bomb costs nothing), the container structure (truncation, data
// after the image's end marker, ZIP/PDF/HTML signatures hidden in metadata or where other
// readers look for them), the number of JPEG scans and the memory a decode would take. Its cost
// is linear in the file's size. Every refusal is a *Rejection; HasAlpha is left for Decode.
func Inspect(data []byte, declaredType string, limits Limits) (ImageInfo, error) {
	limits = limits.withDefaults()
	if len(data) == 0 {
		return ImageInfo{}, reject("the file is empty")
	}
	if int64(len(data)) > limits.MaxBytes {
		return ImageInfo{}, reject("the file is %s, the limit is %s", humanBytes(int64(len(data))), humanBytes(limits.MaxBytes))
	}
	declared := normalizeType(declaredType)
	declaredFormat := ""
	for f, ct := range contentTypes {
		if ct == declared {
			declaredFormat = f
		}
	}
	if declaredFormat == "" {
		return ImageInfo{}, reject("%q is not an accepted image type; upload a JPEG, PNG or WebP image", declaredType)
	}
	format := sniff(data)
	if format == "" {
		return ImageInfo{}, reject("declared %s but the file is not a JPEG, PNG or WebP image (it looks like %s)", declared, describe(data))
	}
	if format != declaredFormat {
		return ImageInfo{}, reject("declared %s but the file is a %s", declared, formatNames[format])
	}

	cfg, err := decodeConfig(format, data)
	if err != nil {
		return ImageInfo{}, reject("the %s header is damaged or incomplete", formatNames[format])
	}
	if err := checkDimensions(cfg.Width, cfg.Height, limits); err != nil {
		return ImageInfo{}, err
	}

	lay, err := scanLayout(format, data)
	if err != nil {
		return ImageInfo{}, err
	}
	if format == FormatJPEG && lay.scans > limits.MaxJPEGScans {
		return ImageInfo{}, reject("the JPEG has %d scans, the limit is %d (re-save it as a baseline JPEG)", lay.scans, limits.MaxJPEGScans)
	}
	if n := decodedBytes(format, cfg.Width, cfg.Height, lay); n > limits.MaxDecodedBytes {
		return ImageInfo{}, reject("decoding this %d×%d %s takes %s of memory, the limit is %s; upload a smaller image or one with 8 bits per channel",
			cfg.Width, cfg.Height, formatNames[format], humanBytes(n), humanBytes(limits.MaxDecodedBytes))
	}
	extraMeta, err := checkTrailer(format, lay, data[lay.end:])
	if err != nil {
		return ImageInfo{}, err
	}
	if err := checkSignatures(data, append(lay.meta, extraMeta...)); err != nil {
		return ImageInfo{}, err
	}
	return ImageInfo{
		ContentType: contentTypes[format],
		Format:      format,
		Width:       cfg.Width,
		Height:      cfg.Height,
		Orientation: lay.orientation,
		Size:        int64(len(data)),
	}, nil
}

// Decode decodes an image that Inspect accepted and described as info, and returns info with
// HasAlpha set. Pixel data that does not decode is a *Rejection; so are bytes that are not the
// image info describes (they must go through Inspect, whose limits bound this decode).
func Decode(data []byte, info ImageInfo) (image.Image, ImageInfo, error) {
	format := sniff(data)
	if format == "" || format != info.Format {
		return nil, ImageInfo{}, reject("the data is not the %s image that was checked", formatNames[info.Format])
	}
	cfg, err := decodeConfig(format, data)
	if err != nil || cfg.Width != info.Width || cfg.Height != info.Height {
		return nil, ImageInfo{}, reject("the %s header is not the one that was checked", formatNames[format])
	}
	img, err := decode(format, data)
	if err != nil {
		return nil, ImageInfo{}, reject("the %s image data is truncated or corrupt", formatNames[format])
	}
	info.HasAlpha = !isOpaque(img)
	return img, info, nil
}

func checkDimensions(w, h int, limits Limits) error {
	if w <= 0 || h <= 0 {
		return reject("the image has no pixels (%d×%d)", w, h)
	}
	if w > limits.MaxWidth || h > limits.MaxHeight || int64(w)*int64(h) > limits.MaxPixels {
		return reject("image is %d×%d, the limit is %d×%d and %s MP", w, h, limits.MaxWidth, limits.MaxHeight, megapixels(limits.MaxPixels))
	}
	return nil
}

func normalizeType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

// sniff names the format from its magic bytes only; the declared type is never trusted.
func sniff(b []byte) string {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return FormatJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return FormatWebP
	}
	return ""
}

// describe names what a non-image file looks like, for a reason the uploader can act on.
func describe(b []byte) string {
	ct := http.DetectContentType(b)
	if ct == "application/octet-stream" {
		return "unrecognised binary data"
	}
	return ct
}

// decodeConfig and decode pick the decoder from the sniffed format rather than going through
// image.Decode, so nothing depends on which formats some other package registered.
func decodeConfig(format string, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch format {
	case FormatJPEG:
		return jpeg.DecodeConfig(r)
	case FormatPNG:
		return png.DecodeConfig(r)
	case FormatWebP:
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("unsupported format %q", format)
}

func decode(format string, data []byte) (image.Image, error) {
	r := bytes.NewReader(data)
	switch format {
	case FormatJPEG:
		return jpeg.Decode(r)
	case FormatPNG:
		return png.Decode(r)
	case FormatWebP:
		return webp.Decode(r)
	}
	return nil, fmt.Errorf("unsupported format %q", format)
}

func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<20))) + " MiB"
	case n >= 1<<10:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<10))) + " KiB"
	}
	return fmt.Sprintf("%d bytes", n)
}

func megapixels(n int64) string {
	return trimZero(fmt.Sprintf("%.1f", float64(n)/1e6))
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }
