package catalogue

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

func TestDefaults(t *testing.T) {
	c, err := New(Config{}, "http://127.0.0.1:8787/")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Terms().AboutURL; got != "http://127.0.0.1:8787/about" {
		t.Errorf("AboutURL = %q", got)
	}
	if c.Terms().Version != DefaultTermsVersion || !strings.Contains(c.Terms().Text, "cancel at any time") {
		t.Errorf("terms = %+v", c.Terms())
	}
	if n := len(c.Models()); n != 13 {
		t.Errorf("%d models, want 13", n)
	}
	ids := c.ReasonIDs()
	for _, want := range []string{"too-expensive", "prefer-buying-myself", "printing-less", "replacing-printer", "delivery-problems", "other"} {
		if !slices.Contains(ids, want) {
			t.Errorf("reason %q missing from %v", want, ids)
		}
	}
	if r, ok := c.Reason("other"); !ok || !r.TakesComment {
		t.Errorf("other = %+v, %v", r, ok)
	}
	if c.DefaultThreshold() != DefaultThreshold {
		t.Errorf("threshold = %d", c.DefaultThreshold())
	}
}

func TestMatch(t *testing.T) {
	c, err := New(Config{}, "http://x")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want string
	}{
		{"TS8320", "TS8320"},
		{"TS8320 series", "TS8320"},
		{"Canon TS8320 series", "TS8320"},
		{"canon   ts8320  SERIES", "TS8320"},
		{"TS8320a", "TS8320"},
		{"Canon TS8320a series", "TS8320"},
		{"PIXMA TS6320a", "TS6320"},
		{"TS702a series", "TS702"},
		{"TR4520a", "TR4520"},
		{"PRO-200", "PRO-200"},
		{"pro 200", "PRO-200"},
		{"PRO-200 series", "PRO-200"},
		{"TS9521C", "TS9521C"},
		{"ts9521ca", "TS9521C"},
		{"TS9520", "TS9520"},
		{"TS8330", ""},
		{"MG3600 series", ""},
		{"Canon TS8300 series", "TS8320"},
		{"TS5300 series", "TS5320"},
		{"PRO-200 series", "PRO-200"},
		{"TS700 series", "TS702"},
		{"TS9500 series", "TS9520 TS9521C"},
		{"EPSON ET-2850 Series", ""},
		{"", ""},
		{"   ", ""},
		{"Canon", ""},
		{"TS832", ""},
	}
	for _, tt := range tests {
		m := c.Match(tt.in)
		got := strings.Join(m.Names(), " ")
		if got != tt.want || m.Eligible() != (tt.want != "") {
			t.Errorf("Match(%q) = %q, %v; want %q", tt.in, got, m.Eligible(), tt.want)
		}
	}
}

func TestConfigOverrides(t *testing.T) {
	c, err := New(Config{
		Terms:            &TermsConfig{Version: "v9", Title: "T", Text: "body", AboutURL: "/info"},
		Models:           []arsapi.Model{{Name: "X100", Aliases: []string{"X100 Pro"}}},
		CancelReasons:    []arsapi.CancelReason{{ID: "moving", Label: "Moving"}, {ID: "else", Label: "Else", TakesComment: true}},
		DefaultThreshold: 20,
	}, "https://ars.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if c.Terms().Version != "v9" || c.Terms().AboutURL != "https://ars.example.com/info" {
		t.Errorf("terms = %+v", c.Terms())
	}
	if got, _ := c.Match("Canon X100 Pro series").Unique(); got.Name != "X100" {
		t.Errorf("Match = %q", got.Name)
	}
	if c.Match("TS8320").Eligible() {
		t.Error("default model still eligible after override")
	}
	if !slices.Equal(c.ReasonIDs(), []string{"moving", "else"}) {
		t.Errorf("reasons = %v", c.ReasonIDs())
	}
	if c.DefaultThreshold() != 20 {
		t.Errorf("threshold = %d", c.DefaultThreshold())
	}
}

func TestConfigErrors(t *testing.T) {
	tests := map[string]Config{
		"terms without text": {Terms: &TermsConfig{Version: "1", Title: "t"}},
		"alias clash":        {Models: []arsapi.Model{{Name: "A1"}, {Name: "B1", Aliases: []string{"a1"}}}},
		"empty model":        {Models: []arsapi.Model{{Name: " "}}},
		"series names other": {Models: []arsapi.Model{{Name: "A1"}, {Name: "B1", Series: []string{"A1 series"}}}},
		"empty series":       {Models: []arsapi.Model{{Name: "A1", Series: []string{" "}}}},
		"bad reason id":      {CancelReasons: []arsapi.CancelReason{{ID: "Too Expensive", Label: "x"}}},
		"duplicate reason":   {CancelReasons: []arsapi.CancelReason{{ID: "a", Label: "x"}, {ID: "a", Label: "y"}}},
		"two comments":       {CancelReasons: []arsapi.CancelReason{{ID: "a", Label: "x", TakesComment: true}, {ID: "b", Label: "y", TakesComment: true}}},
		"threshold":          {DefaultThreshold: 150},
	}
	for name, cfg := range tests {
		if _, err := New(cfg, "http://x"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"TS8320 series", "Canon PRO-200", "", "\x00\xff", "canon canon"} {
		f.Add(s)
	}
	c, err := New(Config{}, "http://x")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range c.Match(s).Names() {
			if !slices.Contains(c.ModelNames(), name) {
				t.Fatalf("Match(%q) = %q, not a model", s, name)
			}
		}
	})
}

// TestDefaultTermsSayWhenInkIsOrdered: the built-in terms said one order
// is placed when a supply reaches its low level and that cancelling leaves
// placed orders alone, while arsd orders by forecast by default, schedules
// a new order for a hold window first and skips the scheduled ones of a
// cancelled plan. What the owner agrees to says what arsd does.
func TestDefaultTermsSayWhenInkIsOrdered(t *testing.T) {
	c, err := New(Config{}, "http://127.0.0.1:8787/")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(c.Terms().Text), " ")
	for _, want := range []string{
		"expected to run out before new ink could arrive, and at the latest when the printer reports it low",
		"skip it or have it shipped at once",
		"orders still scheduled are skipped",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("terms do not say %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "when it reaches its low level") {
		t.Errorf("terms still say orders wait for the low level:\n%s", text)
	}
}

// TestMatchRealCanonIdentities matches what real Canon printers report
// (testdata/canon-series: device IDs, TXT records) against the default
// catalogue: the TS3300 series is the eligible TS3320; the G, GM, MG and
// MX series, a printer in service mode ("Device") and a SELPHY are not.
func TestMatchRealCanonIdentities(t *testing.T) {
	c, err := New(Config{}, "http://x")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "..", "testdata", "canon-series")
	var reported []string
	for name, parse := range map[string]func(string) string{
		"device-id.txt": func(line string) string {
			id, err := printer.ParseDeviceID(line)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return id.Make + " " + id.Model
		},
		"txt.txt": func(line string) string {
			mk, model := printer.ParseTXT(strings.Split(line, "|")).MakeModel()
			return mk + " " + model
		},
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				reported = append(reported, parse(line))
			}
		}
	}
	if len(reported) != 10 {
		t.Fatalf("%d identities: %q", len(reported), reported)
	}
	for _, r := range reported {
		want := ""
		if r == "Canon TS3300 series" {
			want = "TS3320"
		}
		if got := strings.Join(c.Match(r).Names(), " "); got != want {
			t.Errorf("Match(%q) = %q, want %q", r, got, want)
		}
	}
}
