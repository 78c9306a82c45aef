package moderation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"

	"github.com/disintegration/imaging"
)

// The square sizes Thumbnail derives, in the order it returns them.
const (
	LargeThumbnail = 256
	SmallThumbnail = 64
)

// JPEGQuality is the quality of JPEG thumbnails.
const JPEGQuality = 85

// Derived is one thumbnail. SHA256 (lower-case hex of Data) makes a content-addressed key, so
// a derived object is immutable and can be cached forever.
type Derived struct {
	Size        int    `json:"size"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"-"`
	SHA256      string `json:"sha256"`
}

// Ext is the file extension matching ContentType, for building object keys.
func (d Derived) Ext() string {
	if d.ContentType == "image/png" {
		return ".png"
	}
	return ".jpg"
}

// Thumbnail derives square, centre-cropped avatars of LargeThumbnail and SmallThumbnail pixels
// from an image that Inspect accepted and described as info: Decode, then ThumbnailImage.
func Thumbnail(data []byte, info ImageInfo) ([]Derived, error) {
	src, info, err := Decode(data, info)
	if err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	return ThumbnailImage(context.Background(), src, info)
}

// ThumbnailImage derives the thumbnails from src, the decoded image info describes. The EXIF
// orientation in info is applied; output is JPEG (q85), or PNG when the source has any
// transparency; output carries no metadata at all (the encoders write none), so EXIF and GPS
// never reach the public copy. ctx is checked between the stages, so a run past its budget stops
// at the next one.
//
// Memory stays bounded: the source is decoded once by the caller, its centred square is scaled
// (Lanczos) to the largest size without copying it, and the smaller size is made from that.
// Orientation is applied after the crop, on 256×256 pixels instead of the full image: a centred
// square crop commutes with rotations and flips.
func ThumbnailImage(ctx context.Context, src image.Image, info ImageInfo) ([]Derived, error) {
	if b := src.Bounds(); b.Dx() != info.Width || b.Dy() != info.Height {
		return nil, fmt.Errorf("thumbnail: image is %d×%d but its info says %d×%d", b.Dx(), b.Dy(), info.Width, info.Height)
	}
	large := fillSquare(src, LargeThumbnail)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	large = orient(large, info.Orientation)
	small := imaging.Resize(large, SmallThumbnail, SmallThumbnail, imaging.Lanczos)

	out := make([]Derived, 0, 2)
	for _, t := range []*image.NRGBA{large, small} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := encodeDerived(t, t.Bounds().Dx(), !info.HasAlpha)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// prefilterFactor bounds the Lanczos pass: a source more than this many times the target is
// first box-averaged down to that multiple. Lanczos straight from 4000 px to 256 px reads ~140
// taps per output pixel; after a box pre-shrink it reads ~24, for the same look.
const prefilterFactor = 4

// fillSquare is imaging.Fill(img, size, size, imaging.Center, imaging.Lanczos) without its
// full-resolution copy: the centred square is a SubImage view of the decoded pixels (no copy),
// box-shrunk to prefilterFactor×size when it is much larger, then Lanczos-resampled.
func fillSquare(img image.Image, size int) *image.NRGBA {
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return imaging.Fill(img, size, size, imaging.Center, imaging.Lanczos)
	}
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	corner := b.Min.Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	var square image.Image = sub.SubImage(image.Rectangle{Min: corner, Max: corner.Add(image.Pt(side, side))})
	if side > prefilterFactor*size {
		square = imaging.Resize(square, prefilterFactor*size, prefilterFactor*size, imaging.Box)
	}
	return imaging.Resize(square, size, size, imaging.Lanczos)
}

// orient turns stored pixels into displayed pixels for an EXIF orientation. imaging rotates
// counter-clockwise, so orientation 6 ("rotate 90° clockwise to display") is Rotate270.
func orient(img *image.NRGBA, orientation int) *image.NRGBA {
	switch orientation {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

func encodeDerived(img *image.NRGBA, size int, opaque bool) (Derived, error) {
	var buf bytes.Buffer
	d := Derived{Size: size, ContentType: "image/jpeg"}
	var err error
	if opaque {
		err = imaging.Encode(&buf, img, imaging.JPEG, imaging.JPEGQuality(JPEGQuality))
	} else {
		d.ContentType = "image/png"
		err = imaging.Encode(&buf, img, imaging.PNG)
	}
	if err != nil {
		return Derived{}, fmt.Errorf("thumbnail: encode %d px %s: %w", size, d.ContentType, err)
	}
	d.Data = buf.Bytes()
	sum := sha256.Sum256(d.Data)
	d.SHA256 = hex.EncodeToString(sum[:])
	return d, nil
}
