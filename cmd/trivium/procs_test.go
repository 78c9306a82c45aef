package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
)

// buildBinary builds the trivium binary into a temp dir, for tests that run it as a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trivium")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// freePort picks a port for a process to listen on later. It comes from below the kernel's
// ephemeral range (32768 and up here), never from it: an ephemeral port handed out by the
// kernel is also the local port of the next outbound connection (to PostgreSQL, NATS, …), so
// a process told to listen on one would find it taken now and then.
func freePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

// proc is one service running as a local process.
type proc struct {
	name string
	addr string // 127.0.0.1:port
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// kill ends the process at once, like a crashed container.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// restart starts the process again with the same command and environment, after it ended.
func (p *proc) restart(t *testing.T) {
	t.Helper()
	<-p.done
	cmd := exec.Command(p.cmd.Path, p.cmd.Args[1:]...)
	cmd.Env, cmd.Dir = p.cmd.Env, p.cmd.Dir
	np := startProc(t, p.name, cmd)
	p.cmd, p.out, p.done = np.cmd, np.out, np.done
}

func startProc(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- %s output (tail):\n%s", name, tail(p.out.String(), 40))
		}
	})
	return p
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func waitReady(t *testing.T, p *proc, url string) {
	t.Helper()
	testwait.For(t, p.name+" at "+url, 60*time.Second, func() bool {
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", p.name, tail(p.out.String(), 40))
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// alive reports whether the process is running.
func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}
