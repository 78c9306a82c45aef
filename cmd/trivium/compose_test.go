package main

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeFile is the repository's docker-compose.yml, relative to this package.
var composeFile = filepath.Join("..", "..", "docker-compose.yml")

// loadCompose parses docker-compose.yml with compose-go, the library behind `docker compose`, so a
// file it accepts is one the compose v2 plugin accepts.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	abs, err := filepath.Abs(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("trivium", true) })
	if err != nil {
		t.Fatalf("compose-go rejects %s: %v", composeFile, err)
	}
	return p
}

// triviumServices are the services that run the trivium image, with the roles each must run.
var triviumServices = map[string]string{
	"gateway1": "gateway,api", "gateway2": "gateway,api",
	"moderation": "moderation", "notifier": "notifier", "leaderboard": "leaderboard",
}

func env(s types.ServiceConfig, k string) string {
	if v := s.Environment[k]; v != nil {
		return *v
	}
	return ""
}

func TestComposeFileDefinesThePlayTopology(t *testing.T) {
	p := loadCompose(t)
	want := []string{"gateway1", "gateway2", "moderation", "notifier", "leaderboard", "classifier", "postgres", "redis", "nats", "versitygw", "s3-init", "nginx"}
	for _, name := range want {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("service %s is missing", name)
		}
	}
	if len(p.Services) != len(want) {
		t.Errorf("services %v, want exactly %v", slices.Sorted(maps.Keys(p.Services)), want)
	}
	for name, roles := range triviumServices {
		s := p.Services[name]
		if s.Build == nil || s.Build.Dockerfile != "infra/Dockerfile" {
			t.Errorf("%s: must build infra/Dockerfile, got %+v", name, s.Build)
		}
		if got := env(s, "TRIVIUM_ROLES"); got != roles {
			t.Errorf("%s: TRIVIUM_ROLES=%q, want %q", name, got, roles)
		}
		for k, prefix := range map[string]string{
			"TRIVIUM_DB": "postgres://", "TRIVIUM_BUS": "nats://nats:4222", "TRIVIUM_LEADERBOARD": "redis://redis:6379/",
			"TRIVIUM_BLOB": "s3://", "TRIVIUM_PUBLIC_URL": "http://localhost:8080", "TRIVIUM_CDN_URL": "http://localhost:8080",
			"TRIVIUM_ALLOWED_ORIGINS": "http://localhost:8080", "TRIVIUM_TRUST_PROXY": "1",
		} {
			if got := env(s, k); !strings.HasPrefix(got, prefix) {
				t.Errorf("%s: %s=%q, want it to start with %q", name, k, got, prefix)
			}
		}
		// Tokens and VAPID keys must be the same on every node: they share one secrets volume.
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Source == "secrets" && v.Target == "/data/secrets"
		}) {
			t.Errorf("%s: the shared secrets volume is not mounted at /data/secrets", name)
		}
		for _, dep := range []string{"postgres", "redis", "nats", "versitygw"} {
			if c := s.DependsOn[dep].Condition; c != types.ServiceConditionHealthy {
				t.Errorf("%s: depends_on %s condition %q, want service_healthy", name, dep, c)
			}
		}
		if c := s.DependsOn["s3-init"].Condition; c != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s: depends_on s3-init condition %q, want service_completed_successfully", name, c)
		}
	}
	// The moderation worker screens uploads with the local classifier service, and waits for it.
	mod, cls := p.Services["moderation"], p.Services["classifier"]
	if got := env(mod, "TRIVIUM_MODERATION"); got != "http://classifier:8090/classify" {
		t.Errorf("moderation: TRIVIUM_MODERATION=%q, want the classifier service http://classifier:8090/classify", got)
	}
	if c := mod.DependsOn["classifier"].Condition; c != types.ServiceConditionHealthy {
		t.Errorf("moderation: depends_on classifier condition %q, want service_healthy", c)
	}
	if cls.Build == nil || !strings.HasSuffix(cls.Build.Context, "infra/classifier") || env(cls, "CLASSIFIER_ADDR") != "0.0.0.0:8090" {
		t.Errorf("classifier: build %+v, CLASSIFIER_ADDR %q; want infra/classifier listening on 0.0.0.0:8090", cls.Build, env(cls, "CLASSIFIER_ADDR"))
	}
	if len(cls.Ports) != 0 {
		t.Errorf("classifier publishes ports %+v: only the moderation worker may reach it", cls.Ports)
	}
	seeders := 0
	for name := range triviumServices {
		if env(p.Services[name], "TRIVIUM_SEED") == "1" {
			seeders++
		}
	}
	if seeders != 1 {
		t.Errorf("%d services seed the sample quizzes; exactly one must (concurrent seeds race)", seeders)
	}
}

func TestComposeServicesAreHealthCheckedAndGatedOnHealth(t *testing.T) {
	p := loadCompose(t)
	for name, s := range p.Services {
		// s3-init is a one-shot job: its dependents wait for it to finish, not to be healthy.
		if name != "s3-init" && (s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2) {
			t.Errorf("%s: no healthcheck", name)
		}
		for dep, d := range s.DependsOn {
			want := types.ServiceConditionHealthy
			if dep == "s3-init" {
				want = types.ServiceConditionCompletedSuccessfully
			}
			if d.Condition != want {
				t.Errorf("%s: depends_on %s with condition %q, want %q", name, dep, d.Condition, want)
			}
		}
	}
	if got := p.Services["gateway1"].HealthCheck.Test; !slices.Equal(got, []string{"CMD", "/trivium", "healthcheck"}) {
		t.Errorf("trivium healthcheck %v: distroless has no shell, use the binary's own healthcheck", got)
	}
	nginx := p.Services["nginx"]
	for _, gw := range []string{"gateway1", "gateway2"} {
		if _, ok := nginx.DependsOn[gw]; !ok {
			t.Errorf("nginx does not wait for %s (it resolves upstream names at start)", gw)
		}
	}
	if len(nginx.Ports) != 1 || nginx.Ports[0].Published != "8080" || nginx.Ports[0].Target != 8080 {
		t.Errorf("nginx ports %+v, want 8080:8080", nginx.Ports)
	}
	if vg := p.Services["versitygw"]; vg.Image != "versity/versitygw:v1.8.0" || !slices.Contains(vg.Command, "--event-nats-url") {
		t.Errorf("versitygw: image %q command %v, want v1.8.0 publishing events to NATS", vg.Image, vg.Command)
	}
	if nats := p.Services["nats"]; !slices.Contains(nats.Command, "-js") {
		t.Errorf("nats command %v: JetStream (-js) is required", nats.Command)
	}
}

func TestComposeStateLivesInNamedVolumes(t *testing.T) {
	p := loadCompose(t)
	stateful := map[string]string{
		"postgres": "/var/lib/postgresql/data", "redis": "/data", "nats": "/data", "versitygw": "/data",
		"nginx": "/var/cache/nginx", "gateway1": "/data",
	}
	for name, target := range stateful {
		ok := slices.ContainsFunc(p.Services[name].Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Target == target
		})
		if !ok {
			t.Errorf("%s: no named volume at %s", name, target)
		}
	}
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume {
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("%s mounts volume %q that is not declared", name, v.Source)
				}
			}
		}
	}
}
