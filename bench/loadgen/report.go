package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"
)

type metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

type report struct {
	Scenario string   `json:"scenario"`
	Players  int      `json:"players"`
	Games    int      `json:"games"`
	CPUs     int      `json:"cpus"`
	Metrics  []metric `json:"metrics"`
}

func newReport(s string, o options) *report {
	return &report{Scenario: s, Players: o.players, Games: o.games, CPUs: runtime.NumCPU()}
}

func (r *report) add(name string, v float64, unit string) {
	r.Metrics = append(r.Metrics, metric{name, v, unit})
}

// latencies adds p50, p99 and p999 of ds in milliseconds.
func (r *report) latencies(name string, ds []time.Duration) {
	if len(ds) == 0 {
		r.add(name+" samples", 0, "")
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	r.add(name+" p50", q(0.50), "ms")
	r.add(name+" p99", q(0.99), "ms")
	r.add(name+" p999", q(0.999), "ms")
	r.add(name+" samples", float64(len(s)), "")
}

// spread adds min, median and max of a few repeated measurements, in milliseconds.
func (r *report) spread(name string, ds []time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r.add(name+" min", ms(s[0]), "ms")
	r.add(name+" median", ms(s[len(s)/2]), "ms")
	r.add(name+" max", ms(s[len(s)-1]), "ms")
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "scenario %s: %d players in %d game(s), %d CPUs\n", r.Scenario, r.Players, r.Games, r.CPUs)
	for _, m := range r.Metrics {
		fmt.Fprintf(w, "  %-48s %12.3f %s\n", m.Name, m.Value, m.Unit)
	}
}

// compared are the figures reported as a ratio to the floor: what the server pays and what
// players feel, per unit of work.
var compared = []string{
	"server RSS per connection",
	"server CPU per 1,000 answers",
	"server CPU per 1,000 questions delivered",
	"answer ack p50",
	"answer ack p99",
	"question fan-out p50",
	"question fan-out p99",
	"answers per second while answering",
}

func (r *report) value(name string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// compare adds the floor's figures and this report's ratio to them.
func (r *report) compare(floor *report) {
	for _, name := range compared {
		v, ok := r.value(name)
		f, fok := floor.value(name)
		if !ok || !fok {
			continue
		}
		r.add("floor: "+name, f, "")
		if f > 0 {
			r.add("÷ floor: "+name, v/f, "×")
		}
	}
}
