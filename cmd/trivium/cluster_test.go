//go:build cluster

// The cluster test proves docker-compose.yml's topology on a machine without Docker: it reads the
// compose file and starts the same services as local processes with the same commands and
// environments, hostnames mapped to loopback ports, on this machine's PostgreSQL, Redis and NATS.
//
//	go test -tags cluster -count=1 -run TestCluster ./cmd/trivium/
//
// Needs nginx (apt-get install -y nginx), PostgreSQL, Redis and NATS with JetStream (eval
// "$(infra/test-env.sh)" starts them), and builds versitygw on first use (infra/versitygw.sh).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	classifiersvc "github.com/trivium-game/trivium/infra/classifier"
	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/moderation/corpus"
	"github.com/trivium-game/trivium/services/s3blob"
)

// clusterRedisDB is the Redis database the cluster's leaderboard uses (flushed at start).
const clusterRedisDB = 12

func testEnv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// topology is the running compose file.
type topology struct {
	url      string           // nginx, the entry point
	procs    map[string]*proc // trivium services by compose name
	redis    *goredis.Client
	composed *types.Project
}

// startTopology starts every service of docker-compose.yml as a local process.
// startTopology starts the compose file's services; extra overrides environment variables of
// every trivium service.
func startTopology(t *testing.T, extra map[string]string) *topology {
	t.Helper()
	ctx := context.Background()
	p := loadCompose(t)
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/nginx"); err != nil {
			t.Fatal("nginx is not installed: apt-get install -y nginx")
		}
		nginxBin = "/usr/sbin/nginx"
	}
	tmp := t.TempDir()
	top := &topology{procs: map[string]*proc{}, composed: p}

	// The trivium binary, built once.
	bin := filepath.Join(tmp, "trivium")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	// PostgreSQL: a fresh database per run.
	pgBase := testEnv("TRIVIUM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	pgu, err := url.Parse(pgBase)
	if err != nil {
		t.Fatal(err)
	}
	dbName := fmt.Sprintf("trivium_cluster_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, pgBase)
	if err != nil {
		t.Fatalf("PostgreSQL at %s (set TRIVIUM_TEST_POSTGRES): %v", pgBase, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+dbName); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)")
		admin.Close(context.Background())
	})
	pgu.Path = "/" + dbName

	// Redis: one database index, emptied first.
	ru, err := url.Parse(testEnv("TRIVIUM_TEST_REDIS", "redis://127.0.0.1:6379/15"))
	if err != nil {
		t.Fatal(err)
	}
	ru.Path = "/" + strconv.Itoa(clusterRedisDB)
	ropt, err := goredis.ParseURL(ru.String())
	if err != nil {
		t.Fatal(err)
	}
	top.redis = goredis.NewClient(ropt)
	t.Cleanup(func() { top.redis.Close() })
	if err := top.redis.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s (set TRIVIUM_TEST_REDIS): %v", ru.Host, err)
	}

	nu, err := url.Parse(testEnv("TRIVIUM_TEST_NATS", "nats://127.0.0.1:4222"))
	if err != nil {
		t.Fatal(err)
	}
	nginxPort := freePort(t)
	top.url = fmt.Sprintf("http://127.0.0.1:%d", nginxPort)

	// versitygw through its script, with the flags of its compose command.
	vg := p.Services["versitygw"]
	vgPort := freePort(t)
	flag := func(name string) string {
		if i := slices.Index(vg.Command, name); i >= 0 && i+1 < len(vg.Command) {
			return vg.Command[i+1]
		}
		t.Fatalf("versitygw command %v has no %s", vg.Command, name)
		return ""
	}
	// The classifier service (infra/classifier) with its compose environment, on a free port.
	var clsEnv []string
	for k, v := range p.Services["classifier"].Environment {
		if v != nil && k != "CLASSIFIER_ADDR" {
			clsEnv = append(clsEnv, k+"="+*v)
		}
	}
	cls := classifiersvc.Start(t, clsEnv...)
	clsURL, err := url.Parse(cls.URL)
	if err != nil {
		t.Fatal(err)
	}
	hosts := strings.NewReplacer(
		"classifier:8090", clsURL.Host,
		"postgres:5432", pgu.Host, "redis:6379", ru.Host, "nats:4222", nu.Host,
		"versitygw:7070", fmt.Sprintf("127.0.0.1:%d", vgPort), "localhost:8080", fmt.Sprintf("127.0.0.1:%d", nginxPort))
	vgData := filepath.Join(tmp, "volumes", "s3-data")
	if err := os.MkdirAll(vgData, 0o700); err != nil {
		t.Fatal(err)
	}
	script := exec.Command("../../infra/versitygw.sh")
	script.Env = append(os.Environ(), "PORT="+strconv.Itoa(vgPort), "DATA_DIR="+vgData,
		"ACCESS_KEY="+flag("--access"), "SECRET_KEY="+flag("--secret"),
		"EVENT_NATS_URL="+hosts.Replace(flag("--event-nats-url")), "EVENT_NATS_TOPIC="+flag("--event-nats-topic"))
	out, err := script.Output()
	if err != nil {
		t.Fatalf("infra/versitygw.sh: %v", err)
	}
	vgPID, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("versitygw.sh printed %q, want a PID", out)
	}
	t.Cleanup(func() { _ = syscall.Kill(vgPID, syscall.SIGTERM) })

	// s3-init, done with the SDK instead of aws-cli: the bucket, and the policy file it applies.
	initS3(t, p.Services["s3-init"], fmt.Sprintf("http://127.0.0.1:%d", vgPort), flag("--access"), flag("--secret"))

	// The trivium services, with their compose environment rewritten for loopback.
	var names []string
	for name, s := range p.Services {
		if s.Build != nil && s.Build.Dockerfile == "infra/Dockerfile" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	// gateway1 seeds the sample quizzes: start it first.
	slices.SortStableFunc(names, func(a, b string) int {
		return boolInt(env(p.Services[b], "TRIVIUM_SEED") == "1") - boolInt(env(p.Services[a], "TRIVIUM_SEED") == "1")
	})
	for i, name := range names {
		s := p.Services[name]
		data := filepath.Join(tmp, name, "data")
		if err := os.MkdirAll(data, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeVolume || !strings.HasPrefix(v.Target, "/data/") {
				continue
			}
			shared := filepath.Join(tmp, "volumes", v.Source)
			if err := os.MkdirAll(shared, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(shared, filepath.Join(data, strings.TrimPrefix(v.Target, "/data/"))); err != nil {
				t.Fatal(err)
			}
		}
		port := freePort(t)
		// /metrics is off the public listener unless a token is set; the test reads the gauges.
		environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TRIVIUM_METRICS_TOKEN=" + clusterMetricsToken}
		for k, v := range s.Environment {
			if v == nil {
				continue
			}
			val := *v
			switch k {
			case "TRIVIUM_ADDR":
				val = fmt.Sprintf("127.0.0.1:%d", port)
			case "TRIVIUM_DATA":
				val = data
			case "TRIVIUM_DB":
				val = pgu.String()
			case "TRIVIUM_LEADERBOARD":
				val = ru.String()
			default:
				val = hosts.Replace(val)
			}
			environ = append(environ, k+"="+val)
		}
		for k, v := range extra {
			environ = append(environ, k+"="+v)
		}
		cmd := exec.Command(bin, s.Command...)
		cmd.Env = environ
		pp := startProc(t, name, cmd)
		pp.addr = fmt.Sprintf("127.0.0.1:%d", port)
		top.procs[name] = pp
		if i == 0 {
			waitReady(t, pp, "http://"+pp.addr+"/readyz")
		}
	}
	for _, pp := range top.procs {
		waitReady(t, pp, "http://"+pp.addr+"/readyz")
		// The image's healthcheck is the binary's own; run it the same way.
		hc := exec.Command(bin, "healthcheck")
		hc.Env = []string{"TRIVIUM_ADDR=" + pp.addr}
		if out, err := hc.CombinedOutput(); err != nil {
			t.Fatalf("%s healthcheck: %v %s", pp.name, err, out)
		}
	}

	// nginx with the repository's config: paths moved under a temporary prefix, the listen port
	// and the upstream addresses mapped like every other host.
	prefix, err := os.MkdirTemp("", "trivium-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(prefix) })
	// nginx workers run unprivileged and must reach the cache under the prefix.
	if err := os.Chmod(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile("../../infra/nginx/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	user := "user nobody nogroup;"
	if os.Geteuid() != 0 {
		user = ""
	}
	c := string(conf)
	for from, to := range map[string]string{"/var/cache/nginx": prefix, "listen 8080;": fmt.Sprintf("listen 127.0.0.1:%d;", nginxPort), "user nginx;": user} {
		if !strings.Contains(c, from) {
			t.Fatalf("infra/nginx/nginx.conf no longer contains %q, which the cluster test rewrites", from)
		}
		c = strings.ReplaceAll(c, from, to)
	}
	ups, err := os.ReadFile("../../infra/nginx/upstreams.conf")
	if err != nil {
		t.Fatal(err)
	}
	u := hosts.Replace(string(ups))
	for name, pp := range top.procs {
		u = strings.ReplaceAll(u, name+":8080", pp.addr)
	}
	if regexp.MustCompile(`server [a-z]`).MatchString(u) {
		t.Fatalf("upstreams.conf names a service the compose file does not run:\n%s", u)
	}
	must(t, os.WriteFile(filepath.Join(prefix, "nginx.conf"), []byte(c), 0o644))
	must(t, os.WriteFile(filepath.Join(prefix, "upstreams.conf"), []byte(u), 0o644))
	ng := startProc(t, "nginx", exec.Command(nginxBin, "-p", prefix, "-c", filepath.Join(prefix, "nginx.conf"), "-e", "stderr", "-g", "daemon off;"))
	waitReady(t, ng, top.url+"/nginx-health")
	waitReady(t, ng, top.url+"/readyz")
	return top
}

// initS3 does what the compose file's s3-init job does: create the bucket and apply the policy
// file mounted into the job.
func initS3(t *testing.T, job types.ServiceConfig, endpoint, access, secret string) {
	t.Helper()
	var policyFile string
	for _, v := range job.Volumes {
		if strings.HasSuffix(v.Target, ".json") {
			policyFile = v.Source
		}
	}
	policy, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatalf("s3-init policy: %v", err)
	}
	var bucket string
	if m := regexp.MustCompile(`--bucket (\S+)`).FindStringSubmatch(strings.Join(job.Command, " ")); m != nil {
		bucket = m[1]
	}
	ctx := context.Background()
	st, err := s3blob.New(ctx, s3blob.Config{Bucket: bucket, Endpoint: endpoint, PathStyle: true, AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	cl := s3.New(s3.Options{BaseEndpoint: aws.String(endpoint), UsePathStyle: true, Region: s3blob.DefaultRegion,
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")})
	if _, err := cl.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(policy))}); err != nil {
		t.Fatalf("put bucket policy: %v", err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const clusterMetricsToken = "cluster-test-metrics"

var wsGauge = regexp.MustCompile(`(?m)^trivium_ws_connections (\d+)`)

// wsConns reads a gateway's open WebSocket count from its own /metrics (nginx hides /metrics).
func (top *topology) wsConns(t *testing.T, gateway string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+top.procs[gateway].addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+clusterMetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := wsGauge.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}

var activeGauge = regexp.MustCompile(`(?m)^trivium_games_active (\d+)`)

func (top *topology) activeGames(t *testing.T, gateway string) int {
	t.Helper()
	r := call(t, "GET", "http://"+top.procs[gateway].addr+"/metrics", clusterMetricsToken, nil)
	if m := activeGauge.FindSubmatch(r.Body); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	return 0
}

// dialOn dials through nginx until the connection lands on the wanted gateway (nginx balances
// round robin; the gateways' own connection gauges say where a socket went). The gauges move
// asynchronously, so each try waits until the total has settled before judging it.
func (top *topology) dialOn(t *testing.T, s *server, a *account, gateway string) *wsClient {
	t.Helper()
	gateways := []string{"gateway1", "gateway2"}
	total := func() int {
		n := 0
		for _, g := range gateways {
			n += top.wsConns(t, g)
		}
		return n
	}
	for range 20 {
		before, sum := top.wsConns(t, gateway), total()
		c := dial(t, s, a)
		testwait.For(t, "the new socket to be counted", 5*time.Second, func() bool { return total() == sum+1 })
		if top.wsConns(t, gateway) > before {
			return c
		}
		c.ws.Close()
		testwait.For(t, "the stray socket to be closed on its gateway", 10*time.Second, func() bool { return total() == sum })
		// Each try is two requests (ticket, upgrade); with two gateways in round robin the
		// upgrade would land on the same one every time. One more request shifts the turn.
		call(t, "GET", s.URL+"/healthz", "", nil)
	}
	t.Fatalf("no WebSocket of %s landed on %s", a.Name, gateway)
	return nil
}

func standing(t *testing.T, f frame, player string) int {
	t.Helper()
	var d struct {
		Players []struct {
			ID    string
			Score int
		}
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Players {
		if p.ID == player {
			return p.Score
		}
	}
	t.Fatalf("%s is not in %s", player, f.Data)
	return 0
}

func TestClusterFromComposePlaysThroughNginxAndSurvivesTheOwnerDying(t *testing.T) {
	top := startTopology(t, nil)
	s := &server{URL: top.url}

	// Public API reads are cached by nginx by their own Cache-Control.
	host := register(t, s, "host")
	first := call(t, "GET", top.url+"/api/v1/players/"+host.ID, "", nil)
	second := call(t, "GET", top.url+"/api/v1/players/"+host.ID, "", nil)
	if first.Status != 200 || second.Header.Get("X-Cache-Status") != "HIT" {
		t.Errorf("second public profile read: %d X-Cache-Status %q, want a HIT", second.Status, second.Header.Get("X-Cache-Status"))
	}
	if r := call(t, "GET", top.url+"/api/v1/players/"+host.ID, host.Token, nil); r.Header.Get("X-Cache-Status") == "HIT" {
		t.Error("a request with Authorization was served from the cache")
	}
	if r := call(t, "GET", top.url+"/metrics", "", nil); r.Status != 404 {
		t.Errorf("/metrics through nginx: %d, want 404", r.Status)
	}

	// An avatar: presigned PUT to the S3 API, moderated by the moderation process, then served
	// through nginx, from its cache the second time. The host watches on a WebSocket held by
	// whichever gateway nginx picked: the outcome's in-band copy comes from the notifier process.
	watch := dial(t, s, host)
	photo := corpus.JPEG(corpus.Quadrants(600, 400))
	var in struct {
		UploadID string
		URL      string
		Headers  map[string]string
	}
	expect(t, call(t, "POST", top.url+"/api/v1/avatars/uploads", host.Token,
		map[string]any{"contentType": "image/jpeg", "contentLength": len(photo)}), 201).decode(t, &in)
	req, _ := http.NewRequest("PUT", in.URL, strings.NewReader(string(photo)))
	for k, v := range in.Headers {
		if k != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT to the presigned URL %s: %v %v", in.URL, err, resp)
	}
	resp.Body.Close()
	if !strings.HasPrefix(in.URL, top.url+"/trivium/") {
		t.Fatalf("presigned URL %s does not go through the CDN origin %s", in.URL, top.url)
	}
	// Nobody announces the completion: the S3 API's object-created event (versitygw → NATS →
	// the moderation process) must start processing. /me does not check uploads itself, and the
	// API process sees the moderation process's write once its cached player expires (2 s).
	testwait.For(t, "the S3 event to get the avatar accepted", 30*time.Second, every(20*time.Millisecond, func() bool {
		var me struct{ Avatar struct{ Status string } }
		expect(t, call(t, "GET", top.url+"/api/v1/me", host.Token, nil), 200).decode(t, &me)
		return me.Avatar.Status == "accepted"
	}))
	var st struct {
		Status string
		Avatar *struct{ URL, ThumbnailURL string }
	}
	testwait.For(t, "the avatar to be accepted", 30*time.Second, func() bool {
		expect(t, call(t, "GET", top.url+"/api/v1/avatars/uploads/"+in.UploadID, host.Token, nil), 200).decode(t, &st)
		return st.Status == "accepted"
	})
	if nf := watch.waitFrame("notification", ""); !strings.Contains(string(nf.Data), `"topic":"avatar"`) ||
		!strings.Contains(string(nf.Data), in.UploadID) {
		t.Fatalf("in-band notification from the notifier process: %s", nf.Data)
	}
	if !strings.HasPrefix(st.Avatar.ThumbnailURL, top.url+"/avatars/") {
		t.Fatalf("thumbnail URL %q is not on the CDN %s", st.Avatar.ThumbnailURL, top.url)
	}
	a1 := call(t, "GET", st.Avatar.ThumbnailURL, "", nil)
	a2 := call(t, "GET", st.Avatar.ThumbnailURL, "", nil)
	if a1.Status != 200 || a2.Status != 200 || a2.Header.Get("X-Cache-Status") != "HIT" {
		t.Fatalf("avatar fetches %d/%d, second X-Cache-Status %q, want a HIT", a1.Status, a2.Status, a2.Header.Get("X-Cache-Status"))
	}

	// A game created through nginx lives on one gateway: find it.
	quizID := createQuiz(t, s, host, "casual", []map[string]any{
		{"text": "2+2?", "kind": "choice", "choices": []string{"3", "4"}, "answer": 1, "timeLimitSec": 60},
		{"text": "Sky?", "kind": "choice", "choices": []string{"blue", "green"}, "answer": 0, "timeLimitSec": 60},
		{"text": "Grass?", "kind": "choice", "choices": []string{"blue", "green"}, "answer": 1, "timeLimitSec": 60},
	})
	code := createGame(t, s, host, quizID)
	owner, other := "gateway1", "gateway2"
	if top.activeGames(t, "gateway2") == 1 {
		owner, other = other, owner
	}
	if top.activeGames(t, owner) != 1 {
		t.Fatalf("no gateway runs game %s", code)
	}

	// Players on both gateways: the host and alice on the owner, bob on the other one.
	alice, bob := register(t, s, "alice"), register(t, s, "bob")
	hc := top.dialOn(t, s, host, owner)
	ac := top.dialOn(t, s, alice, owner)
	bc := top.dialOn(t, s, bob, other)
	for _, c := range []*wsClient{hc, ac, bc} {
		if f := c.reply(c.send("join", map[string]string{"code": code})); f.Type != "state" {
			t.Fatalf("join: %s %s", f.Type, f.Data)
		}
	}
	hc.reply(hc.send("start", struct{}{}))
	ac.waitFrame("question", "")
	bc.waitFrame("question", "")
	ac.reply(ac.send("answer", map[string]any{"index": 0, "answer": 1}))
	bc.reply(bc.send("answer", map[string]any{"index": 0, "answer": 1}))
	ac.waitFrame("reveal", "")
	bc.waitFrame("reveal", "")
	hc.reply(hc.send("scoreboard", struct{}{}))
	hc.reply(hc.send("next", struct{}{}))
	bc.waitFrame("question", "")
	ac.waitFrame("question", "")
	bc.reply(bc.send("answer", map[string]any{"index": 1, "answer": 0}))
	hc.reply(hc.send("reveal", struct{}{}))
	rv := bc.waitFrame("reveal", "")
	if !strings.Contains(string(rv.Data), `"correct":true`) {
		t.Fatalf("bob's reveal: %s", rv.Data)
	}
	var aliceState struct{ ResumeToken string }
	if err := json.Unmarshal(ac.reply("r1").Data, &aliceState); err != nil || aliceState.ResumeToken == "" {
		t.Fatalf("alice's resume token: %v", err)
	}
	hc.reply(hc.send("scoreboard", struct{}{}))
	bc.waitFrame("scoreboard", "")

	// The owner dies. bob's socket on the other gateway stays open and is joined to the game
	// again there, restored from its last snapshot, scores intact.
	top.procs[owner].kill(t)
	st2 := bc.waitFrame("state", "")
	// bob answered both right: 1000 + 1000 + a 10% streak bonus on the second.
	if got := standing(t, st2, bob.ID); got != 2100 {
		t.Fatalf("bob's score after the takeover %d, want 2100: %s", got, st2.Data)
	}
	if got := standing(t, st2, alice.ID); got != 1000 {
		t.Fatalf("alice's score after the takeover %d, want 1000: %s", got, st2.Data)
	}
	// alice and the host reconnect through nginx (now to the survivor) and resume.
	ac2 := dial(t, s, alice)
	if f := ac2.reply(ac2.send("join", map[string]string{"code": code, "resume": aliceState.ResumeToken})); f.Type != "state" {
		t.Fatalf("alice resume: %s %s", f.Type, f.Data)
	}
	hc2 := dial(t, s, host)
	if f := hc2.reply(hc2.send("join", map[string]string{"code": code})); f.Type != "state" {
		t.Fatalf("host rejoin: %s %s", f.Type, f.Data)
	}
	hc2.reply(hc2.send("next", struct{}{}))
	ac2.waitFrame("question", "")
	bc.waitFrame("question", "")
	ac2.reply(ac2.send("answer", map[string]any{"index": 2, "answer": 1}))
	bc.reply(bc.send("answer", map[string]any{"index": 2, "answer": 0}))
	hc2.reply(hc2.send("next", struct{}{}))
	fin := bc.waitFrame("finished", "")
	if !strings.Contains(string(fin.Data), bob.ID) {
		t.Fatalf("finished: %s", fin.Data)
	}

	// Scores leave as events; the leaderboard process files them in Redis, read through nginx.
	testwait.For(t, "the leaderboard to list alice and bob", 30*time.Second, func() bool {
		n, err := top.redis.DBSize(context.Background()).Result()
		if err != nil || n == 0 {
			return false
		}
		// The quiz is private, so its board is for the players on it (and it stays off global).
		r := call(t, "GET", fmt.Sprintf("%s/api/v1/leaderboards/quiz:%s?n=%d", top.url, quizID, time.Now().UnixNano()), alice.Token, nil)
		return r.Status == 200 && strings.Contains(string(r.Body), alice.ID) && strings.Contains(string(r.Body), bob.ID)
	})
}
