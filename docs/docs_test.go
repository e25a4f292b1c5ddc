// Package docs holds the user documentation. Its test checks what of it a
// program reads: the example alert rules (with Prometheus's own rule
// parser) and the Grafana dashboard, whose every expression must parse as
// PromQL and name only metrics that arsd or arsctl monitor expose.
package docs

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/arsctl/arsctl/internal/monitor"
	"github.com/arsctl/arsctl/internal/server"
	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

// exposedNames scrapes url and returns the names of the series it exposes
// (a histogram's _bucket, _sum and _count).
func exposedNames(t *testing.T, url string, names map[string]bool) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	for name, f := range fams {
		names[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		}
	}
}

// metricNames are the metrics a running arsd (SQLite, with a webhook
// fulfiller, on loopback) and a monitor that has read one printer expose.
func metricNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hook.Close()
	base, stop, err := server.Start(context.Background(), server.Config{
		Addr: "127.0.0.1:0", Database: filepath.Join(t.TempDir(), "arsd.db"), DataDir: t.TempDir(),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Webhook: server.WebhookConfig{URL: hook.URL, Secret: "0123456789abcdef-webhook"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// A request first, for the request metrics.
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
	}
	exposedNames(t, base+"/metrics", names)

	day := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var history []forecast.Reading
	for i := range 5 {
		history = append(history, forecast.Reading{At: day.Add(time.Duration(i) * 24 * time.Hour), Level: 60 - 5*i})
	}
	now := day.Add(4 * 24 * time.Hour)
	m := &monitor.Metrics{}
	m.Update([]monitor.Result{{
		EnrollmentID: "e1", Model: "TS8320", Serial: "KNMA00001", Status: monitor.StatusReported, LevelsReadAt: &now,
		Supplies:  []printer.Supply{{Name: "C", ColorName: "cyan", Type: "inkCartridge", Level: 40, Low: 15}},
		Forecasts: map[string]forecast.Forecast{"C": forecast.Estimate(history, now)},
	}}, now)
	srv := httptest.NewServer(m)
	defer srv.Close()
	exposedNames(t, srv.URL+"/metrics", names)
	return names
}

// selectorNames parses expr and returns the metric names it selects.
func selectorNames(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, expr, err)
		return nil
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs.Name)
		}
		return nil
	})
	if len(out) == 0 {
		t.Errorf("%s: %q selects no metric", where, expr)
	}
	return out
}

// TestAlertRules: docs/alerts.yaml is a valid Prometheus rule file (its
// own parser and validation, which parses every expression and template),
// every rule says its severity and what happened, and every metric it uses
// is one arsd or arsctl monitor exposes.
func TestAlertRules(t *testing.T) {
	groups, errs := rulefmt.ParseFile("alerts.yaml", false, model.UTF8Validation, parser.NewParser(parser.Options{}),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil {
		t.FailNow()
	}
	names := metricNames(t)
	rules := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %q of %s: want an alert name, a severity and a summary", r.Alert, g.Name)
			}
			for _, n := range selectorNames(t, r.Alert, r.Expr) {
				if !names[n] {
					t.Errorf("rule %s uses %s, which nothing exposes", r.Alert, n)
				}
			}
		}
	}
	if rules < 10 {
		t.Errorf("%d rules", rules)
	}
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int     `json:"id"`
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// grafanaVars stands in for the dashboard's variables, as Grafana does
// before it sends a query.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$enrollment", ".*")

// TestGrafanaDashboard: docs/grafana/arsctl.json is a dashboard whose every
// query parses as PromQL and uses only metrics that exist, the variables
// included, and whose panels have distinct IDs.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("grafana", "arsctl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("arsctl.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q", d.Title, d.UID)
	}
	names := metricNames(t)
	ids := map[int]bool{}
	used := map[string]bool{}
	var walk func([]panel)
	exprs := 0
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel ID %d twice", p.ID)
			}
			ids[p.ID] = true
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				exprs++
				for _, n := range selectorNames(t, p.Title, grafanaVars.Replace(tg.Expr)) {
					used[n] = true
					if !names[n] {
						t.Errorf("panel %q uses %s, which nothing exposes", p.Title, n)
					}
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	labelValues := regexp.MustCompile(`^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),\s*\w+\)$`)
	for _, v := range d.Templating.List {
		q, ok := v.Query.(map[string]any)
		if !ok {
			continue
		}
		m := labelValues.FindStringSubmatch(q["query"].(string))
		if m == nil || !names[m[1]] {
			t.Errorf("variable %s: query %v uses no exposed metric", v.Name, q["query"])
		}
	}
	if exprs < 10 {
		t.Errorf("%d queries", exprs)
	}
	var unused []string
	for n := range names {
		if (strings.HasPrefix(n, "arsctl_supply_") || strings.HasPrefix(n, "arsd_enrollments") && !strings.HasSuffix(n, "_total") ||
			n == "arsd_orders" || strings.HasPrefix(n, "arsd_dispatch_")) && !used[n] {
			unused = append(unused, n)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("the dashboard shows none of %v", unused)
	}
}
