package corpus

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
)

// ScanBombJPEG is a side×side greyscale progressive JPEG of scans scans: one DC scan, then
// scans−1 identical AC scans (coefficients 1–63) that code every block as zero with a few
// end-of-band runs. Each AC scan is about 30 bytes, but a decoder walks all (side/8)² blocks
// for it, so the cost grows with scans × pixels while the file stays small: 4096 px with 3,000
// scans is about 110 KB and takes a decoder without a scan limit seconds of CPU per decode.
// side must be a multiple of 8 (so there are no partial blocks).
func ScanBombJPEG(side, scans int) []byte {
	if side <= 0 || side%8 != 0 || side > 65535 || scans < 1 {
		panic("ScanBombJPEG: side must be a positive multiple of 8 up to 65535, scans ≥ 1")
	}
	blocks := (side / 8) * (side / 8)
	var out bytes.Buffer
	out.Write([]byte{0xFF, 0xD8})
	segment := func(marker byte, payload []byte) {
		out.Write([]byte{0xFF, marker})
		_ = binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
		out.Write(payload)
	}
	segment(0xDB, append([]byte{0x00}, bytes.Repeat([]byte{1}, 64)...)) // DQT: table 0, all ones
	sof := []byte{8, 0, 0, 0, 0, 1, 1, 0x11, 0}                         // SOF2: 8 bit, side×side, one component
	binary.BigEndian.PutUint16(sof[1:], uint16(side))
	binary.BigEndian.PutUint16(sof[3:], uint16(side))
	segment(0xC2, sof)
	// DC table 0: one 1-bit code, category 0 (a zero difference).
	segment(0xC4, append([]byte{0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0x00))
	// AC table 0: EOB14 (a run of 16384–32767 blocks) is "0", EOB3 (8–15 blocks) is "10", EOB0
	// (one block) is "110".
	segment(0xC4, append([]byte{0x10, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0xE0, 0x30, 0x00))

	segment(0xDA, []byte{1, 1, 0x00, 0, 0, 0x00}) // DC scan: Ss=0 Se=0 Ah=Al=0
	var dc bitWriterMSB
	for range blocks {
		dc.write(0, 1)
	}
	out.Write(dc.stuffed())

	var ac bitWriterMSB
	for left := blocks; left > 0; {
		switch {
		case left >= 16384:
			run := min(left, 32767)
			ac.write(0, 1)
			ac.write(uint64(run-16384), 14)
			left -= run
		case left >= 8:
			run := min(left, 15)
			ac.write(0b10, 2)
			ac.write(uint64(run-8), 3)
			left -= run
		default:
			ac.write(0b110, 3)
			left--
		}
	}
	acData := ac.stuffed()
	for range scans - 1 {
		segment(0xDA, []byte{1, 1, 0x00, 1, 63, 0x00}) // AC scan: Ss=1 Se=63 Ah=Al=0
		out.Write(acData)
	}
	out.Write([]byte{0xFF, 0xD9})
	return out.Bytes()
}

// bitWriterMSB packs bits most-significant first, as JPEG entropy-coded data does.
type bitWriterMSB struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *bitWriterMSB) write(v uint64, bits uint) {
	for i := int(bits) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.n++
		if w.n == 8 {
			w.buf = append(w.buf, byte(w.acc))
			w.acc, w.n = 0, 0
		}
	}
}

// stuffed pads the last byte with 1 bits and inserts the 0x00 a JPEG requires after every 0xFF
// data byte, so the scan cannot be mistaken for a marker.
func (w *bitWriterMSB) stuffed() []byte {
	b := w.buf
	if w.n > 0 {
		b = append(b, byte(w.acc<<(8-w.n)|(1<<(8-w.n)-1)))
	}
	out := make([]byte, 0, len(b)+len(b)/64)
	for _, c := range b {
		out = append(out, c)
		if c == 0xFF {
			out = append(out, 0x00)
		}
	}
	return out
}

// PNG16 is a w×h 16-bit RGBA PNG of one opaque grey. The file is small (a uniform image
// compresses about 650:1) but decodes to 8 bytes a pixel: 4096×4096 is 128 MiB of pixels.
func PNG16(w, h int) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 16, 6, 0, 0, 0)
	row := make([]byte, 1+8*w) // filter 0, then RGBA at 16 bits each
	for x := range w {
		copy(row[1+8*x:], []byte{0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0xFF, 0xFF})
	}
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.DefaultCompression)
	for range h {
		_, _ = zw.Write(row)
	}
	if err := zw.Close(); err != nil {
		panic(err) // writing to memory cannot fail
	}
	out := append([]byte("\x89PNG\r\n\x1a\n"), PNGChunk("IHDR", ihdr)...)
	out = append(out, PNGChunk("IDAT", idat.Bytes())...)
	return append(out, PNGChunk("IEND", nil)...)
}
