package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]bool{
		"/":                             true,
		"/subscriptions":                true,
		"/oauth/login?authRequestID=x":  true,
		"/device?user_code=BCDF-GHJK":   true,
		"":                              false,
		"//evil.example":                false,
		"/\\evil.example":               false,
		"https://evil.example/":         false,
		"http:/evil":                    false,
		"evil":                          false,
		"/a\r\nb":                       false,
		"/a\\b":                         false,
		"/" + strings.Repeat("a", 3000): false,
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzLocalPath checks that whatever ?next= says, an accepted value
// resolves to this site.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "/a?b=c", "//x", "/\\x", "/%2f%2fx", "/\t/x", "http://x", "/#//x", "/..//x"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://ars.example.com/login")
	f.Fuzz(func(t *testing.T, s string) {
		if !localPath(s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q that does not parse: %v", s, err)
		}
		if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
			t.Fatalf("accepted %q resolves to %s", s, r)
		}
		if LoginURL(s) == LoginPath {
			t.Fatalf("LoginURL dropped accepted %q", s)
		}
	})
}

func TestMaskSerial(t *testing.T) {
	for in, want := range map[string]string{
		// As the CLI masks them (****1234): four bullets whatever the
		// length, and a serial of four characters or fewer all hidden.
		"KMBA01234":    "••••1234",
		"KNMA55551234": "••••1234",
		"1234":         "••••",
		"ab":           "••••",
		"":             "",
		"ÄÖÜ12345":     "••••2345",
	} {
		if got := maskSerial(in); got != want {
			t.Errorf("maskSerial(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSupplyViews(t *testing.T) {
	e := arsapi.Enrollment{Threshold: 20, Supplies: []printer.Supply{
		{Name: "C", Colors: []string{"#00FFFF"}, Level: 21},
		{Name: "Y", Colors: []string{"#FFFF00"}, Level: 30, Low: 30},
		{Name: "CMY", Colors: []string{"#00FFFF", "#FF00FF", "#FFFF00"}, Level: 5},
		{Name: "evil", Colors: []string{"red;background:url(https://evil.example)"}, Level: 50},
		{Name: "some", Level: printer.LevelSomeRemaining},
		{Name: "unknown", Level: printer.LevelUnknown},
		{Name: "Waste Ink Tank", Type: "wasteInk", Level: 96},
		{Name: "Imaging Drum", Type: "opc", Level: 3},
		{Name: "said", Level: printer.LevelSomeRemaining, State: printer.StateLow},
	}}
	v := supplyViews(e)
	// A printer that says in words that an ink is low: "Low", in words.
	if s := v[8]; s.Known || !s.Low || s.LevelText != "low, the printer says (exact level unknown)" {
		t.Errorf("said low view = %+v", s)
	}
	// A waste tank says how full it is and is never "Low"; a worn drum is
	// not "Low" either: neither is ordered.
	if w := v[6]; w.Kind != "waste tank" || w.LevelText != "96% full" || w.Low || w.Width != 96 {
		t.Errorf("waste tank view = %+v", w)
	}
	if d := v[7]; d.Kind != "drum" || d.LevelText != "3%" || d.Low {
		t.Errorf("drum view = %+v", d)
	}
	if v[0].Low || !v[1].Low || !v[2].Low {
		t.Errorf("low flags = %v %v %v, want false true true", v[0].Low, v[1].Low, v[2].Low)
	}
	if v[0].Background != "#00ffff" || !strings.HasPrefix(string(v[2].Background), "linear-gradient(") {
		t.Errorf("backgrounds = %q, %q", v[0].Background, v[2].Background)
	}
	if v[3].Background != "#6b7280" {
		t.Errorf("a malformed colour was used: %q", v[3].Background)
	}
	if v[4].Known || !strings.Contains(v[4].LevelText, "some ink remaining") || v[5].LevelText != "level unknown" {
		t.Errorf("special levels: %+v %+v", v[4], v[5])
	}
}
