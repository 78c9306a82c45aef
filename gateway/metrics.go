package gateway

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trivium-game/trivium/services"
)

// Metrics are the gateway's Prometheus instruments, registered on a registry passed in.
type Metrics struct {
	httpDuration *prometheus.HistogramVec
	wsConns      prometheus.Gauge
	framesIn     prometheus.Counter
	framesOut    prometheus.Counter
	wsDropped    *prometheus.CounterVec
	busPublished *prometheus.CounterVec
	busConsumed  *prometheus.CounterVec
}

// NewMetrics creates and registers the instruments.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "trivium_http_request_duration_seconds",
			Help: "HTTP request latency by route and status.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)},
			[]string{"method", "route", "status"}),
		wsConns:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "trivium_ws_connections", Help: "Open WebSocket connections."}),
		framesIn:  prometheus.NewCounter(prometheus.CounterOpts{Name: "trivium_ws_frames_in_total", Help: "Frames received."}),
		framesOut: prometheus.NewCounter(prometheus.CounterOpts{Name: "trivium_ws_frames_out_total", Help: "Frames sent."}),
		wsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trivium_ws_closed_total",
			Help: "WebSocket connections closed by the server, by reason."}, []string{"reason"}),
		busPublished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trivium_bus_published_total",
			Help: "Events published by subject and result."}, []string{"subject", "result"}),
		busConsumed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trivium_bus_consumed_total",
			Help: "Events handled by consumer and result."}, []string{"consumer", "result"}),
	}
	reg.MustRegister(m.httpDuration, m.wsConns, m.framesIn, m.framesOut, m.wsDropped, m.busPublished, m.busConsumed)
	return m
}

// RegisterGamesActive registers the gauge of live games, which active reports. It stands apart
// from NewMetrics because the games Manager is built after the instrumented bus (its results
// leave through the outbox relay, which publishes on that bus).
func RegisterGamesActive(reg prometheus.Registerer, active func() int) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "trivium_games_active", Help: "Games not yet finished."},
		func() float64 { return float64(active()) }))
}

// InstrumentBus counts publishes and handled messages of a bus.
func (m *Metrics) InstrumentBus(b services.Bus) services.Bus { return &instrumentedBus{Bus: b, m: m} }

type instrumentedBus struct {
	services.Bus
	m *Metrics
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

func (b *instrumentedBus) Publish(ctx context.Context, subject, id string, data []byte) error {
	err := b.Bus.Publish(ctx, subject, id, data)
	b.m.busPublished.WithLabelValues(subject, result(err)).Inc()
	return err
}

func (b *instrumentedBus) Consume(ctx context.Context, cfg services.ConsumerConfig, h services.Handler) error {
	return b.Bus.Consume(ctx, cfg, func(ctx context.Context, msg services.Message) error {
		err := h(ctx, msg)
		b.m.busConsumed.WithLabelValues(cfg.Name, result(err)).Inc()
		return err
	})
}
