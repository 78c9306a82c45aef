// Command loadgen drives a real trivium server over real WebSockets the way players do and
// reports what users feel (connected players, answers/s, ack and fan-out latency) next to what
// the server pays (RSS and CPU sampled from /proc).
//
//	go run ./bench/loadgen -scenario idle -players 20000
//	go run ./bench/loadgen -scenario fanout -players 1000
//	go run ./bench/loadgen -scenario answers -games 100 -players 5000
//	go run ./bench/loadgen -scenario startup
//
// By default it builds nothing and starts `bin/trivium serve` itself on a free port with a fresh
// data directory (-server), so the server's process can be measured; -url uses a running one.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	scenario   string
	url        string
	server     string
	players    int
	games      int
	questions  int
	think      time.Duration
	sources    int
	sourceBase int
	timeout    time.Duration
	jsonOut    bool
	dialConcur int
	floor      string // also run the scenario against this floor binary and report ratios
	pid        int    // with -url: the server's process, read from /proc
	pprof      string // with -url: the server's pprof address (for a GC before memory readings)
	barrier    string // DIR:N: wait for N load generators at each phase (several processes, one run)
	pin        string // CPU list for this process (taskset), after the server has started
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&o.scenario, "scenario", "idle", "idle, fanout, answers or startup")
	fs.StringVar(&o.url, "url", "", "use a running server at this URL instead of starting one")
	fs.StringVar(&o.server, "server", "bin/trivium", "trivium binary to start when -url is empty")
	fs.IntVar(&o.players, "players", 1000, "simulated players (total)")
	fs.IntVar(&o.games, "games", 1, "concurrent games (players are spread evenly; one host bot each)")
	fs.IntVar(&o.questions, "questions", 5, "questions asked per game (fanout, answers)")
	fs.DurationVar(&o.think, "think", 200*time.Millisecond, "mean think time before answering (answers)")
	fs.IntVar(&o.sources, "sources", 0, "loopback source addresses to spread connections over (0: one per 25,000 players)")
	fs.IntVar(&o.sourceBase, "source-base", 1, "first loopback source address, 127.0.0.N: load generators running side by side need their own (a bound source address has ~28,000 ephemeral ports, whatever the destination)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.IntVar(&o.dialConcur, "dial-concurrency", 64, "connections opened at once")
	fs.StringVar(&o.floor, "floor", "", "floor binary (bin/floor): run the same scenario against it after the server and report ratios")
	fs.IntVar(&o.pid, "pid", 0, "with -url: the server's process id, to read its CPU and memory from /proc")
	fs.StringVar(&o.pprof, "pprof", "", "with -url: the server's pprof address (host:port), to force a GC before reading memory")
	fs.StringVar(&o.barrier, "barrier", "", "DIR:N — wait until N load generators reach each phase (connected, answering)")
	fs.StringVar(&o.pin, "pin", "", "pin this process to these CPUs (taskset -a -c LIST) once the server has started")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.sources == 0 {
		o.sources = 1 + o.players/25000
	}
	raiseFDLimit()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	rep, err := runScenario(ctx, o, o.server)
	if err != nil {
		return err
	}
	if o.floor != "" && o.url == "" && o.scenario != "startup" {
		// Same generator, same sizes, right after: the ratios are what this machine's noise
		// cannot move much.
		floor, err := runScenario(ctx, o, o.floor)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		rep.compare(floor)
	}
	if o.jsonOut {
		return json.NewEncoder(stdout).Encode(rep)
	}
	rep.print(stdout)
	return nil
}

func runScenario(ctx context.Context, o options, bin string) (*report, error) {
	if o.scenario == "startup" {
		return startup(ctx, o)
	}
	srv, err := connect(ctx, o, bin)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if o.pin != "" {
		if err := pin(o.pin); err != nil {
			return nil, err
		}
	}
	switch o.scenario {
	case "idle":
		return idle(ctx, o, srv)
	case "fanout":
		return fanout(ctx, o, srv)
	case "answers":
		return answers(ctx, o, srv)
	}
	return nil, fmt.Errorf("unknown scenario %q", o.scenario)
}

// pin moves every thread of this process to cpus; threads started later inherit it.
func pin(cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset: %v: %s", err, out)
	}
	return nil
}

// wait blocks until every load generator sharing -barrier DIR:N has reached phase.
func (o options) wait(ctx context.Context, phase string) error {
	if o.barrier == "" {
		return nil
	}
	dir, n, ok := strings.Cut(o.barrier, ":")
	parties, err := strconv.Atoi(n)
	if !ok || err != nil {
		return fmt.Errorf("-barrier wants DIR:N, got %q", o.barrier)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s.%d", phase, os.Getpid())), nil, 0o644); err != nil {
		return err
	}
	return waitUntil(ctx, func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, phase+".*"))
		return len(m) >= parties
	})
}

// raiseFDLimit lifts the open-files limit — every player is a socket, twice over when the
// server runs here too (it inherits the limit): to 1,048,576 where allowed (root), else to the
// hard limit.
func raiseFDLimit() {
	want := syscall.Rlimit{Cur: 1 << 20, Max: 1 << 20}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return
	}
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
