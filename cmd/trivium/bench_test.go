package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/trivium-game/trivium/moderation/corpus"
	"github.com/trivium-game/trivium/services/webpush/pushtest"
)

// BenchmarkAvatarUploadToPush measures, through the real server, the time from a completed
// avatar PUT to the decrypted push at a protocol-checking push service (1 MP JPEG, an HTTP
// classifier that accepts everything). Reports p50/p99 in ms.
//
//	go test -run '^$' -bench AvatarUploadToPush -benchtime 50x ./cmd/trivium
func BenchmarkAvatarUploadToPush(b *testing.B) {
	classifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"labels":[]}`)
	}))
	defer classifier.Close()
	s := startServer(b, map[string]string{"TRIVIUM_PUSH_ALLOW_PRIVATE": "1", "TRIVIUM_MODERATION": classifier.URL,
		"TRIVIUM_API_RATE": "100000", "TRIVIUM_API_BURST": "100000"})
	push := pushtest.New(b)
	var key struct{ PublicKey string }
	expect(b, call(b, "GET", s.URL+"/api/v1/push/vapid-public-key", "", nil), 200).decode(b, &key)
	push.SetVAPIDKey(b, key.PublicKey)
	a := register(b, s, "benchavatar")
	expect(b, subscribe(b, s, a.Token, push.NewSubscription()), 201)
	photo := corpus.JPEG(corpus.Quadrants(1280, 800)) // ~1 MP

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in := presign(b, s, a, "image/jpeg", len(photo))
		start := time.Now()
		if code := putBytes(b, in.URL, in.Headers, photo); code != 200 {
			b.Fatalf("PUT %d", code)
		}
		d := push.WaitFor(b, i+1, 30*time.Second)[i]
		lat = append(lat, d.At.Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
