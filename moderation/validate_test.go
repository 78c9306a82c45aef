package moderation

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"runtime"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/moderation/corpus"
)

func mustReject(t *testing.T, data []byte, declared string, limits Limits, wantReason string) *Rejection {
	t.Helper()
	info, err := Validate(data, declared, limits)
	if err == nil {
		t.Fatalf("Validate accepted the file: %+v", info)
	}
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("error %T %v is not a *Rejection", err, err)
	}
	if !strings.Contains(rej.Reason, wantReason) {
		t.Fatalf("reason %q does not contain %q", rej.Reason, wantReason)
	}
	if !IsPermanent(err) {
		t.Fatalf("a rejection must be permanent")
	}
	return rej
}

func TestValidateAcceptsEachFormatAndDescribesIt(t *testing.T) {
	opaque := splitImage(40, 20, red, blue)
	transparent := splitImage(8, 8, color.NRGBA{R: 255, A: 255}, color.NRGBA{})
	tests := []struct {
		name      string
		data      []byte
		declared  string
		want      ImageInfo
		wantAlpha bool
	}{
		{"jpeg", encodeJPEG(t, opaque), "image/jpeg", ImageInfo{ContentType: "image/jpeg", Format: FormatJPEG, Width: 40, Height: 20, Orientation: 1}, false},
		{"jpeg with exif", insertJPEGSegment(encodeJPEG(t, opaque), 0xE1, exifBlock(binary.BigEndian, 6)), "image/jpeg",
			ImageInfo{ContentType: "image/jpeg", Format: FormatJPEG, Width: 40, Height: 20, Orientation: 6}, false},
		{"png", encodePNG(t, opaque), "image/png", ImageInfo{ContentType: "image/png", Format: FormatPNG, Width: 40, Height: 20, Orientation: 1}, false},
		{"png with alpha", encodePNG(t, transparent), "image/png", ImageInfo{ContentType: "image/png", Format: FormatPNG, Width: 8, Height: 8, Orientation: 1}, true},
		{"webp lossless with alpha", webpLossless(t, transparent), "image/webp", ImageInfo{ContentType: "image/webp", Format: FormatWebP, Width: 8, Height: 8, Orientation: 1}, true},
		{"declared type with parameters", encodePNG(t, opaque), "Image/PNG; charset=binary", ImageInfo{ContentType: "image/png", Format: FormatPNG, Width: 40, Height: 20, Orientation: 1}, false},
		{"multi-picture jpeg with a gain map after EOI", multiPicture(t), "image/jpeg",
			ImageInfo{ContentType: "image/jpeg", Format: FormatJPEG, Width: 40, Height: 20, Orientation: 1}, false},
		{"jpeg with extraneous bytes between segments, as libjpeg tolerates", junkAfterFirstSegment(encodeJPEG(t, opaque), []byte("\x00junk\x00")), "image/jpeg",
			ImageInfo{ContentType: "image/jpeg", Format: FormatJPEG, Width: 40, Height: 20, Orientation: 1}, false},
		{"jpeg with zero padding after EOI", append(encodeJPEG(t, opaque), make([]byte, 32)...), "image/jpeg",
			ImageInfo{ContentType: "image/jpeg", Format: FormatJPEG, Width: 40, Height: 20, Orientation: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Validate(tc.data, tc.declared, Limits{})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			tc.want.Size = int64(len(tc.data))
			tc.want.HasAlpha = tc.wantAlpha
			if info != tc.want {
				t.Fatalf("info = %+v, want %+v", info, tc.want)
			}
		})
	}
}

func TestGeneratedWebPDecodesToItsPixels(t *testing.T) {
	src := splitImage(6, 4, color.NRGBA{R: 255, A: 255}, color.NRGBA{})
	data := webpLossless(t, src)
	img, err := decode(FormatWebP, data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	got, ok := img.(*image.NRGBA)
	if !ok {
		t.Fatalf("decoded %T, want *image.NRGBA", img)
	}
	if !bytes.Equal(got.Pix, src.Pix) {
		t.Fatalf("pixels differ:\n got %v\nwant %v", got.Pix, src.Pix)
	}
}

func TestValidateRefusesWhatIsNotTheDeclaredImage(t *testing.T) {
	jpg := encodeJPEG(t, splitImage(16, 16, red, blue))
	tests := []struct {
		name, declared string
		data           []byte
		reason         string
	}{
		{"text declared as png", "image/png", []byte("hello, this is a plain text file\n"), "declared image/png but the file is not a JPEG, PNG or WebP image (it looks like text/plain"},
		{"html declared as jpeg", "image/jpeg", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "it looks like text/html"},
		{"jpeg declared as png", "image/png", jpg, "declared image/png but the file is a JPEG"},
		{"png declared as webp", "image/webp", encodePNG(t, splitImage(4, 4, red, blue)), "declared image/webp but the file is a PNG"},
		{"gif is not accepted", "image/gif", []byte("GIF89a\x01\x00\x01\x00"), `"image/gif" is not an accepted image type`},
		{"empty", "image/jpeg", nil, "the file is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustReject(t, tc.data, tc.declared, Limits{}, tc.reason)
		})
	}
}

func TestValidateRefusesFilesOverTheSizeLimit(t *testing.T) {
	big := make([]byte, DefaultMaxBytes+1)
	copy(big, encodeJPEG(t, splitImage(16, 16, red, blue)))
	mustReject(t, big, "image/jpeg", Limits{}, "the limit is 5 MiB")

	if _, err := ReadImage(bytes.NewReader(big), Limits{}); !IsRejection(err) {
		t.Fatalf("ReadImage of an oversized stream: err = %v, want a rejection", err)
	}
	small := encodePNG(t, splitImage(4, 4, red, blue))
	got, err := ReadImage(bytes.NewReader(small), Limits{})
	if err != nil || !bytes.Equal(got, small) {
		t.Fatalf("ReadImage of a small stream: %v", err)
	}
}

// A decompression bomb announces huge dimensions in a tiny file. It must be refused from the
// header alone: the allocation bound proves no pixel buffer (3.6 GB here) was ever made.
func TestValidateRefusesDecompressionBombsFromTheHeaderWithoutAllocating(t *testing.T) {
	tests := []struct {
		name, declared string
		data           []byte
		limits         Limits
		reason         string
	}{
		{"png 30000×30000", "image/png", corpus.BombPNG(30000, 30000), Limits{}, "image is 30000×30000, the limit is 4096×4096 and 25 MP"},
		{"jpeg 30000×30000", "image/jpeg", jpegHeaderOnly(30000, 30000), Limits{}, "image is 30000×30000"},
		{"png over the pixel budget only", "image/png", corpus.BombPNG(6000, 5000), Limits{MaxWidth: 10000, MaxHeight: 10000}, "image is 6000×5000, the limit is 10000×10000 and 25 MP"},
		{"png one pixel too wide", "image/png", corpus.BombPNG(4097, 10), Limits{}, "image is 4097×10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			mustReject(t, tc.data, tc.declared, tc.limits, tc.reason)
			runtime.ReadMemStats(&after)
			if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
				t.Fatalf("rejecting the bomb allocated %d bytes", allocated)
			}
		})
	}
}

func TestValidateRefusesTruncatedImages(t *testing.T) {
	jpg := encodeJPEG(t, noiseImage(64, 64, color.NRGBA{}, color.NRGBA{255, 255, 255, 255}, 1))
	pngData := encodePNG(t, noiseImage(64, 64, color.NRGBA{}, color.NRGBA{255, 255, 255, 255}, 2))
	webpData := webpLossless(t, splitImage(64, 64, red, blue))
	tests := []struct {
		name, declared string
		data           []byte
		reason         string
	}{
		{"jpeg cut in the scan", "image/jpeg", jpg[:len(jpg)*2/3], "the JPEG file is truncated"},
		{"jpeg without EOI", "image/jpeg", jpg[:len(jpg)-2], "the JPEG file is truncated"},
		{"png cut in IDAT", "image/png", pngData[:len(pngData)/2], "the PNG file is truncated"},
		{"png without IEND", "image/png", pngData[:len(pngData)-12], "the PNG file is truncated"},
		{"webp shorter than its RIFF size", "image/webp", webpData[:len(webpData)-4], "the WebP file is truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustReject(t, tc.data, tc.declared, Limits{}, tc.reason)
		})
	}
}

// A PNG whose compressed data is damaged but whose chunks are intact passes the structural walk;
// the full decode is what refuses it.
func TestValidateRefusesImagesThatDoNotDecode(t *testing.T) {
	pngData := encodePNG(t, noiseImage(32, 32, color.NRGBA{}, color.NRGBA{255, 255, 255, 255}, 3))
	corrupt := append([]byte{}, pngData...)
	idat := bytes.Index(corrupt, []byte("IDAT"))
	for i := idat + 10; i < idat+40; i++ {
		corrupt[i] ^= 0x5A
	}
	mustReject(t, corrupt, "image/png", Limits{}, "the PNG image data is truncated or corrupt")
}

func TestValidateRefusesPolyglots(t *testing.T) {
	jpg := encodeJPEG(t, splitImage(32, 32, red, blue))
	pngData := encodePNG(t, splitImage(32, 32, red, blue))
	webpData := webpLossless(t, splitImage(8, 8, red, blue))
	archive := zipArchive(t)
	tests := []struct {
		name, declared string
		data           []byte
		reason         string
	}{
		{"zip appended to a jpeg", "image/jpeg", append(append([]byte{}, jpg...), archive...), "the file has a ZIP archive"},
		{"zip appended to a png", "image/png", append(append([]byte{}, pngData...), archive...), "appended after the end of the PNG image"},
		{"bytes appended to a jpeg", "image/jpeg", append(append([]byte{}, jpg...), "trailing"...), "the file has data (8 bytes) appended after the end of the JPEG image"},
		{"data after the webp RIFF", "image/webp", append(append([]byte{}, webpData...), archive...), "appended after the end of the WebP image"},
		{"jpeg appended without a multi-picture index", "image/jpeg", append(append([]byte{}, jpg...), jpg...), "the file has data"},
		{"zip after a multi-picture gain map", "image/jpeg", append(multiPicture(t), archive...), "the file has a ZIP archive"},
		{"html in a multi-picture gain map", "image/jpeg",
			append(insertJPEGSegment(encodeJPEG(t, splitImage(40, 20, red, blue)), 0xE2, []byte("MPF\x00MM\x00\x2a")),
				insertJPEGSegment(encodeJPEG(t, splitImage(20, 10, red, blue)), 0xFE, []byte("<html>"))...),
			"contains an HTML document"},
		{"zip in extraneous bytes between jpeg segments", "image/jpeg", junkAfterFirstSegment(jpg, []byte("PK\x03\x04\x14\x00\x00\x00payload.html")), "contains a ZIP archive hidden"},
		{"zip inside a jpeg comment", "image/jpeg", insertJPEGSegment(jpg, 0xFE, archive), "the file contains a ZIP archive hidden inside the image"},
		{"html inside a jpeg comment", "image/jpeg", insertJPEGSegment(jpg, 0xFE, []byte("<SCRIPT>alert(document.cookie)</SCRIPT>")), "contains an HTML document"},
		{"pdf inside a png text chunk", "image/png", insertPNGChunk(pngData, "tEXt", []byte("Comment\x00%PDF-1.7 1 0 obj")), "contains a PDF document"},
		{"php inside a png text chunk", "image/png", insertPNGChunk(pngData, "tEXt", []byte("Comment\x00<?php system($_GET['c']); ?>")), "contains a PHP script"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustReject(t, tc.data, tc.declared, Limits{}, tc.reason)
		})
	}
}

func TestExifOrientationIsReadInBothByteOrdersAndDefaultsToOne(t *testing.T) {
	tests := []struct {
		name string
		tiff []byte
		want int
	}{
		{"big endian 6", exifBlock(binary.BigEndian, 6)[6:], 6},
		{"little endian 8", exifBlock(binary.LittleEndian, 8)[6:], 8},
		{"out of range value", exifBlock(binary.BigEndian, 9)[6:], 1},
		{"truncated IFD", exifBlock(binary.BigEndian, 6)[6:14], 1},
		{"not TIFF", []byte("XX\x00\x2a\x00\x00\x00\x08"), 1},
		{"empty", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := exifOrientation(tc.tiff); got != tc.want {
				t.Fatalf("exifOrientation = %d, want %d", got, tc.want)
			}
		})
	}
}

// multiPicture is a JPEG whose APP2 declares the Multi-Picture Format, followed by a second
// JPEG (as a gain map is), the layout of Android Ultra HDR and recent iPhone photos.
func multiPicture(t *testing.T) []byte {
	t.Helper()
	primary := insertJPEGSegment(encodeJPEG(t, splitImage(40, 20, red, blue)), 0xE2, []byte("MPF\x00MM\x00\x2a\x00\x00\x00\x08"))
	gainMap := encodeJPEG(t, splitImage(20, 10, blue, red))
	return append(primary, gainMap...)
}

// junkAfterFirstSegment puts bytes that belong to no segment between the first two segments.
func junkAfterFirstSegment(jpg, junk []byte) []byte {
	end := 4 + int(binary.BigEndian.Uint16(jpg[4:]))
	out := append([]byte{}, jpg[:end]...)
	out = append(out, junk...)
	return append(out, jpg[end:]...)
}
