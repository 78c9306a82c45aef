// Package classifier starts infra/classifier's server.js — the nsfwjs image classifier that
// docker-compose runs next to the moderation worker — as a local process for tests. Nothing in
// the binary imports it.
//
// Start installs the pinned npm packages (npm ci from package-lock.json) once into a cache
// directory keyed by the lockfile, so a clean clone needs only node, npm and the npm registry.
package classifier

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Service is a running classifier.
type Service struct {
	URL   string // POST images here (…/classify)
	Model string
	PID   int // of the node process
	// LoadTime is how long the model took to load and warm up.
	LoadTime time.Duration
}

// StartTimeout bounds the install check, the start and the model load (about 15 s on an idle
// 2-core machine; much longer when the machine is busy).
const StartTimeout = 3 * time.Minute

// Dir is infra/classifier in this checkout.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Install runs npm ci for the lockfile into the cache (TRIVIUM_CLASSIFIER_CACHE, or the user
// cache directory) unless that lockfile is already installed there, and returns the node_modules
// directory. Concurrent installs do not clash: each installs into its own directory and renames.
func Install() (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", errors.New("npm is not installed (the classifier service needs Node.js ≥ 20 and npm: apt-get install -y nodejs npm)")
	}
	dir := Dir()
	h := sha256.New()
	var files [][]byte
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		h.Write(b)
		files = append(files, b)
	}
	base := os.Getenv("TRIVIUM_CLASSIFIER_CACHE")
	if base == "" {
		if base, err = os.UserCacheDir(); err != nil {
			base = os.TempDir()
		}
		base = filepath.Join(base, "trivium")
	}
	final := filepath.Join(base, "classifier-"+hex.EncodeToString(h.Sum(nil))[:16])
	modules := filepath.Join(final, "node_modules")
	if _, err := os.Stat(filepath.Join(final, "installed")); err == nil {
		return modules, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(base, "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for i, name := range []string{"package.json", "package-lock.json"} {
		if err := os.WriteFile(filepath.Join(tmp, name), files[i], 0o644); err != nil {
			return "", err
		}
	}
	// --ignore-scripts: sharp's native build ships in its @img/* packages, and no other
	// dependency needs an install step.
	cmd := exec.Command(npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %v\n%s", tmp, err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, "installed"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, "installed")); statErr == nil {
			return modules, nil // another process finished first
		}
		return "", err
	}
	return modules, nil
}

// Start installs (if needed) and starts the classifier on a free loopback port with the given
// extra environment (CLASSIFIER_MODEL=…), waits until its model is loaded and stops it when the
// test ends. It fails the test when node or npm is missing: the classifier is part of the
// default install, so its test does not skip.
func Start(t testing.TB, env ...string) *Service {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed (the classifier service needs Node.js ≥ 20: apt-get install -y nodejs npm)")
	}
	modules, err := Install()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(Dir(), "server.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "CLASSIFIER_ADDR=127.0.0.1:0")
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &limited{w: &stderr, n: 64 << 10}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once stdout is drained and the process reaped
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	type event struct {
		Msg    string `json:"msg"`
		Addr   string `json:"addr"`
		Model  string `json:"model"`
		LoadMS int64  `json:"load_ms"`
		Error  string `json:"error"`
	}
	events := make(chan event, 16)
	go func() {
		defer close(exited)
		defer func() { _ = cmd.Wait() }()
		defer close(events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e event
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg != "" {
				select {
				case events <- e:
				default: // per-image log lines once running: nobody reads them
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	s := &Service{PID: cmd.Process.Pid}
	deadline := time.After(StartTimeout)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				<-exited
				t.Fatalf("classifier exited before it was ready: %v\n%s", cmd.ProcessState, stderr.String())
			}
			switch e.Msg {
			case "listening":
				s.URL = "http://" + e.Addr + "/classify"
			case "ready":
				s.Model, s.LoadTime = e.Model, time.Duration(e.LoadMS)*time.Millisecond
				return s
			case "fatal":
				t.Fatalf("classifier: %s\n%s", e.Error, stderr.String())
			}
		case <-deadline:
			t.Fatalf("classifier not ready after %s\n%s", StartTimeout, stderr.String())
		}
	}
}

// limited keeps the first n bytes written to it.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
