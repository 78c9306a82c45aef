// Command thumb times Trivium's avatar path on one file — validate (sniff, header checks, one
// full decode) then the 256 and 64 px thumbnails of the decoded image, as the workflow does it —
// so it can be compared with vipsthumbnail on the same file under /usr/bin/time. With -gen it
// writes a 4000×3000 (12 MP) test JPEG first.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png"
	"math"
	"os"
	"time"

	"github.com/trivium-game/trivium/moderation"
)

func main() {
	gen := flag.String("gen", "", "write a 12 MP test JPEG to this path and exit")
	in := flag.String("in", "", "image to thumbnail")
	typ := flag.String("type", "image/jpeg", "declared content type")
	thumbOnly := flag.Bool("thumb-only", false, "skip validation (read the header only) to time and size the thumbnail step alone")
	flag.Parse()
	if err := run(*gen, *in, *typ, *thumbOnly); err != nil {
		fmt.Fprintln(os.Stderr, "thumb:", err)
		os.Exit(1)
	}
}

func run(gen, in, typ string, thumbOnly bool) error {
	if gen != "" {
		return generate(gen)
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	start := time.Now()
	var info moderation.ImageInfo
	if thumbOnly {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return err
		}
		info = moderation.ImageInfo{ContentType: typ, Format: format, Width: cfg.Width, Height: cfg.Height, Orientation: 1, Size: int64(len(data))}
		out, err := moderation.Thumbnail(data, info)
		if err != nil {
			return err
		}
		fmt.Printf("thumbnails %.1f ms, outputs %d (%d bytes for 256 px)\n", ms(time.Since(start)), len(out), len(out[0].Data))
		return nil
	}
	// As the workflow does it: inspect the bytes, decode once, thumbnail the decoded image.
	if info, err = moderation.Inspect(data, typ, moderation.Limits{MaxBytes: 32 << 20}); err != nil {
		return err
	}
	img, info, err := moderation.Decode(data, info)
	if err != nil {
		return err
	}
	validated := time.Since(start)
	out, err := moderation.ThumbnailImage(context.Background(), img, info)
	if err != nil {
		return err
	}
	total := time.Since(start)
	fmt.Printf("validate %.1f ms, validate+thumbnails %.1f ms, outputs %d (%d bytes for 256 px)\n",
		ms(validated), ms(total), len(out), len(out[0].Data))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// generate draws a photo-like gradient with sensor-like noise so the JPEG is as large and as
// costly to decode as a real 12 MP photo (a few MB at quality 90).
func generate(path string) error {
	const w, h = 4000, 3000
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/w, float64(y)/h
			n := noise(x, y)
			img.SetRGBA(x, y, color.RGBA{
				R: clamp(110 + 100*math.Sin(fx*17+fy*3) + n),
				G: clamp(110 + 100*math.Sin(fy*13+fx*5) + n),
				B: clamp(110 + 100*math.Cos((fx+fy)*11) - n),
				A: 255,
			})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return jpeg.Encode(f, img, &jpeg.Options{Quality: 90})
}

// noise is a cheap deterministic hash of the pixel position in [-24, 24].
func noise(x, y int) float64 {
	h := uint32(x)*374761393 + uint32(y)*668265263
	h = (h ^ (h >> 13)) * 1274126177
	return float64(h>>24)/255*48 - 24
}

func clamp(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v))) }
