package moderation_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/trivium-game/trivium/moderation/corpus"
)

// BenchmarkBombUpload is the CPU one hostile upload costs the avatar workflow, from delivery to
// outcome, on the real engines. cpu-ms/op is user+system time of the whole process (rusage), so it
// counts every decode the workflow does, in whatever goroutine. Run with
//
//	go test -run '^$' -bench BombUpload -benchtime 1x ./moderation/
func BenchmarkBombUpload(b *testing.B) {
	bombs := []struct {
		name, contentType string
		data              []byte
	}{
		{"progressive JPEG 4096² with 3000 scans", "image/jpeg", corpus.ScanBombJPEG(4096, 3000)},
		{"16-bit RGBA PNG 4096²", "image/png", corpus.PNG16(4096, 4096)},
		// The costliest JPEG the default limits admit: it is processed, with one decode.
		{"progressive JPEG 4096² with 100 scans", "image/jpeg", corpus.ScanBombJPEG(4096, 100)},
	}
	for _, bomb := range bombs {
		b.Run(bomb.name, func(b *testing.B) {
			f := newFixture(b, nil)
			ctx := context.Background()
			b.ReportAllocs()
			var cpu time.Duration
			var status string
			for b.Loop() {
				b.StopTimer()
				m := f.upload(f.player, bomb.data, bomb.contentType)
				before := cpuTime(b)
				b.StartTimer()
				if err := f.wf.Handle(ctx, m); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += cpuTime(b) - before
				status = string(f.status(uploadID(m)).Status)
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.Logf("%d bytes → %s", len(bomb.data), status)
		})
	}
}

func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
