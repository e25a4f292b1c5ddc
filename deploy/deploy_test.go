// Package deploy holds what it takes to run arsd as replicas: a container
// image (Dockerfile), a compose file with haproxy, Kubernetes manifests and
// a systemd unit. Its test checks them offline (no image is built here).
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// docs parses every YAML document of a file.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if m != nil {
			out = append(out, m)
		}
	}
}

// at walks a parsed YAML tree by map keys and list indexes ("0").
func at(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, c := range p {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				t.Fatalf("index %s out of range at %v", p, path)
			}
			v = x[i]
		default:
			t.Fatalf("no %q in %v", p, path)
		}
	}
	return v
}

func TestKubernetesManifests(t *testing.T) {
	byKind := map[string]map[string]any{}
	for _, d := range docs(t, "kubernetes/arsd.yaml") {
		byKind[d["kind"].(string)] = d
	}
	for _, k := range []string{"Deployment", "Service", "PodDisruptionBudget"} {
		if byKind[k] == nil {
			t.Fatalf("no %s", k)
		}
	}
	dep := byKind["Deployment"]
	if n, _ := at(t, dep, "spec", "replicas").(int); n < 2 {
		t.Errorf("replicas = %v, want several", n)
	}
	c := at(t, dep, "spec", "template", "spec", "containers", "0")
	if got := at(t, c, "readinessProbe", "httpGet", "path"); got != "/readyz" {
		t.Errorf("readiness probe on %v, want /readyz", got)
	}
	if got := at(t, c, "livenessProbe", "httpGet", "path"); got != "/healthz" {
		t.Errorf("liveness probe on %v, want /healthz", got)
	}
	env := map[string]map[string]any{}
	for _, e := range at(t, c, "env").([]any) {
		m := e.(map[string]any)
		env[m["name"].(string)] = m
	}
	if v, _ := env["ARSD_PUBLIC_URL"]["value"].(string); !strings.HasPrefix(v, "https://") {
		t.Errorf("ARSD_PUBLIC_URL = %q: every replica needs the one public URL", v)
	}
	for _, secret := range []string{"ARSD_DATABASE", "ARSD_AMAZON_KEY", "ARSD_WEBHOOK_SECRET"} {
		if env[secret] == nil || env[secret]["valueFrom"] == nil {
			t.Errorf("%s is not taken from a Secret", secret)
		}
	}
	if at(t, c, "securityContext", "readOnlyRootFilesystem") != true || at(t, dep, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("container not hardened (read-only root, non-root)")
	}
	sel := at(t, dep, "spec", "selector", "matchLabels", "app.kubernetes.io/name")
	if at(t, byKind["Service"], "spec", "selector", "app.kubernetes.io/name") != sel ||
		at(t, byKind["PodDisruptionBudget"], "spec", "selector", "matchLabels", "app.kubernetes.io/name") != sel {
		t.Error("Service or PodDisruptionBudget does not select the Deployment's pods")
	}
	if n, _ := at(t, byKind["PodDisruptionBudget"], "spec", "minAvailable").(int); n < 1 || n >= at(t, dep, "spec", "replicas").(int) {
		t.Errorf("PodDisruptionBudget minAvailable %d: want at least one pod up and one allowed down", n)
	}
}

func TestCompose(t *testing.T) {
	d := docs(t, "compose.yaml")[0]
	arsd := at(t, d, "services", "arsd")
	if n, _ := at(t, arsd, "deploy", "replicas").(int); n != 3 {
		t.Errorf("arsd replicas = %v, want 3", n)
	}
	env := at(t, arsd, "environment").(map[string]any)
	for _, k := range []string{"ARSD_DATABASE", "ARSD_PUBLIC_URL", "ARSD_AMAZON_KEY", "ARSD_WEBHOOK_SECRET"} {
		if _, ok := env[k]; !ok {
			t.Errorf("arsd lacks %s", k)
		}
	}
	if !strings.Contains(env["ARSD_DATABASE"].(string), "@postgres:5432/") {
		t.Errorf("ARSD_DATABASE %q is not the compose PostgreSQL", env["ARSD_DATABASE"])
	}
	if at(t, d, "services", "haproxy") == nil || at(t, d, "services", "postgres") == nil {
		t.Error("compose lacks haproxy or postgres")
	}
	cfg, err := os.ReadFile("haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"option httpchk GET /readyz", "server-template arsd 3 arsd:8787 check", "bind :8787"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("haproxy.cfg lacks %q", want)
		}
	}
}

func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("arsd.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k+"="+v] = true
			keys[k] = true
		}
	}
	for _, want := range []string{"ExecStart", "DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "EnvironmentFile", "CapabilityBoundingSet="} {
		if !keys[want] {
			t.Errorf("arsd.service lacks %s", want)
		}
	}
}

// runtimeStage is the instructions of a Dockerfile's last stage, comments
// and the COPY of the binaries left out.
func runtimeStage(t *testing.T, path string) (stage []string, cp string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "FROM "):
			stage, cp = []string{l}, ""
		case strings.HasPrefix(l, "COPY ") && strings.Contains(l, "/usr/bin/"):
			cp = l
		case strings.HasPrefix(l, "ARG TARGETPLATFORM"):
		default:
			stage = append(stage, l)
		}
	}
	return stage, cp
}

// TestReleaseImage: GoReleaser's image holds both binaries, built static
// for Linux, and runs as a non-root user from the same runtime stage as
// deploy/Dockerfile. (`make release-check` runs goreleaser check on the
// file; building the image needs docker buildx and a registry.)
func TestReleaseImage(t *testing.T) {
	cfg := docs(t, "../.goreleaser.yaml")[0]
	builds := map[string]map[string]any{}
	for _, b := range at(t, cfg, "builds").([]any) {
		m := b.(map[string]any)
		builds[m["id"].(string)] = m
	}
	images := at(t, cfg, "dockers_v2").([]any)
	if len(images) != 1 {
		t.Fatalf("%d images, want 1", len(images))
	}
	img := images[0].(map[string]any)
	ids := map[string]bool{}
	for _, id := range at(t, img, "ids").([]any) {
		ids[id.(string)] = true
		b := builds[id.(string)]
		if b == nil {
			t.Fatalf("image takes build %v, which does not exist", id)
		}
		if !slices.Contains(at(t, b, "env").([]any), any("CGO_ENABLED=0")) {
			t.Errorf("build %v is not static (CGO_ENABLED=0)", id)
		}
		if !slices.Contains(at(t, b, "goos").([]any), any("linux")) {
			t.Errorf("build %v has no Linux binary for the image", id)
		}
	}
	if !ids["arsd"] || !ids["arsctl"] {
		t.Errorf("image ids %v, want arsd and arsctl", ids)
	}
	for _, p := range at(t, img, "platforms").([]any) {
		if !strings.HasPrefix(p.(string), "linux/") {
			t.Errorf("platform %v", p)
		}
	}
	release, cp := runtimeStage(t, "../"+at(t, img, "dockerfile").(string))
	if cp != "COPY $TARGETPLATFORM/arsd $TARGETPLATFORM/arsctl /usr/bin/" {
		t.Errorf("release image copies %q, want GoReleaser's arsd and arsctl for the platform", cp)
	}
	fromSource, _ := runtimeStage(t, "Dockerfile")
	if !slices.Equal(release, fromSource) {
		t.Errorf("runtime stages differ:\n%q\n%q", release, fromSource)
	}
	user := ""
	for _, l := range release {
		if u, ok := strings.CutPrefix(l, "USER "); ok {
			user = u
		}
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("image runs as %q, want a non-root user", user)
	}
	if !strings.Contains(release[0], "distroless/static") {
		t.Errorf("base %q is not a static distroless image", release[0])
	}
}
