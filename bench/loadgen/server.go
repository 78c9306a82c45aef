package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// server is the trivium under test: started by us (so /proc can be read) or reached by URL.
type server struct {
	url   string
	pprof string // the server's pprof listener, when we started it
	pid   int
	cmd   *exec.Cmd
	data  string
}

// collectGarbage asks the server for a heap profile with gc=1, which runs a full GC first, so
// memory readings count live objects rather than garbage not yet collected.
func (s *server) collectGarbage() {
	if s.pprof == "" {
		return
	}
	if resp, err := http.Get(s.pprof + "/debug/pprof/heap?gc=1"); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ""
	}
	defer ln.Close()
	return ln.Addr().String()
}

func serverEnv(data string) []string {
	return append(os.Environ(), "TRIVIUM_ADDR=127.0.0.1:0", "TRIVIUM_DATA="+data, "TRIVIUM_LOG_LEVEL=warn",
		"TRIVIUM_MAX_GAMES_PER_HOST=100000", // one host account runs every game of a scenario
		// The load generator is one client IP creating thousands of players and sockets.
		"TRIVIUM_API_RATE=1000000", "TRIVIUM_API_BURST=1000000", "TRIVIUM_AUTH_RATE=1000000", "TRIVIUM_AUTH_BURST=1000000",
		"TRIVIUM_WS_PER_ADDRESS=1000000",
		// One host account holds a socket per game (a 1,024-frame send queue keeps a busy lobby's
		// host from being dropped as slow, which is what made lifting this fail before).
		"TRIVIUM_WS_PER_ACCOUNT=1000000",
		// 18,000 idle sockets under this machine's 20,000 descriptors: keep 500, not a tenth.
		"TRIVIUM_FD_RESERVE=500",
		"TRIVIUM_METRICS_TOKEN="+metricsToken)
}

// metricsToken lets goMemory read /metrics on the public address of a server started here.
const metricsToken = "loadgen"

func connect(ctx context.Context, o options, bin string) (*server, error) {
	if o.url != "" {
		s := &server{url: strings.TrimSuffix(o.url, "/"), pid: o.pid}
		if o.pprof != "" {
			s.pprof = "http://" + o.pprof
		}
		return s, nil
	}
	data, err := os.MkdirTemp("", "trivium-bench-")
	if err != nil {
		return nil, err
	}
	s, _, err := startServer(ctx, bin, data, o.pin != "")
	return s, err
}

// startServer starts the binary and returns once /readyz answers, with the time that took.
// With unpin (this process is pinned to some CPUs) the server is given every CPU again.
func startServer(ctx context.Context, bin, data string, unpin bool) (*server, time.Duration, error) {
	start := time.Now()
	cmd := exec.CommandContext(ctx, bin, "serve")
	if unpin {
		cmd = exec.CommandContext(ctx, "taskset", "-c", fmt.Sprintf("0-%d", runtime.NumCPU()-1), bin, "serve")
	}
	pprofAddr := freeAddr()
	cmd.Env = append(serverEnv(data), "TRIVIUM_PPROF_ADDR="+pprofAddr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w (run `make build` first)", bin, err)
	}
	s := &server{pid: cmd.Process.Pid, cmd: cmd, data: data, pprof: "http://" + pprofAddr}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "Trivium is up: open "); ok {
			s.url = strings.TrimSuffix(strings.TrimSpace(after), "/")
			break
		}
	}
	go func() { _, _ = bufio.NewReader(out).WriteTo(discard{}) }()
	if s.url == "" {
		s.stop()
		return nil, 0, fmt.Errorf("server printed no URL")
	}
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, time.Since(start), nil
			}
		}
		if ctx.Err() != nil {
			s.stop()
			return nil, 0, ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
	if s.data != "" {
		_ = os.RemoveAll(s.data)
	}
}

// procSample is a process's resident memory and CPU time at one moment.
type procSample struct {
	at     time.Time
	rssKB  int64
	cpuSec float64
}

// sample reads /proc for pid (0: this process).
func sample(pid int) procSample {
	p := "self"
	if pid > 0 {
		p = strconv.Itoa(pid)
	}
	s := procSample{at: time.Now()}
	if b, err := os.ReadFile("/proc/" + p + "/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				f := strings.Fields(line)
				s.rssKB, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	if b, err := os.ReadFile("/proc/" + p + "/stat"); err == nil {
		// Fields after the parenthesised command name; utime and stime are the 12th and 13th.
		if i := strings.LastIndexByte(string(b), ')'); i > 0 {
			f := strings.Fields(string(b)[i+2:])
			if len(f) > 12 {
				u, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				s.cpuSec = (u + st) / 100 // USER_HZ is 100 on Linux
			}
		}
	}
	return s
}

// cpuPercent is the CPU used between two samples as a percentage of one core.
func cpuPercent(a, b procSample) float64 {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return 0
	}
	return 100 * (b.cpuSec - a.cpuSec) / wall
}

// goMemory is the server's Go heap and stack in use, from its /metrics, in bytes. Unlike RSS it
// excludes memory the runtime has freed but not yet returned to the OS.
func goMemory(url string) float64 {
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && (f[0] == "go_memstats_heap_inuse_bytes" || f[0] == "go_memstats_stack_inuse_bytes") {
			v, _ := strconv.ParseFloat(f[1], 64)
			total += v
		}
	}
	return total
}
