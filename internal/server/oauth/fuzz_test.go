package oauth

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzParseForms feeds arbitrary bytes (a page from the network) to the
// form reader that DeviceLogin and SignInBrowser use.
func FuzzParseForms(f *testing.F) {
	f.Add([]byte(`<form method="post" action="/login"><input type="hidden" name="csrf" value="x"><input type="password" name="password"><button name="action" value="approve">Go</button></form>`))
	f.Add([]byte(`<form><form><input name=a value=b><input name=c type=submit value=d></form>`))
	f.Add([]byte("<html><body>no forms</body></html>"))
	f.Add([]byte("<input name=x><form action='\x00'>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		forms, err := parseForms(body)
		if err != nil {
			return
		}
		for _, fm := range forms {
			for _, in := range fm.inputs {
				if in.name == "" {
					t.Fatalf("input without a name: %+v", in)
				}
			}
		}
		p := &htmlPage{status: 200, body: body, forms: forms}
		if s := p.text(); len(s) > 400 {
			t.Fatalf("text() is %d bytes long", len(s))
		}
	})
}

// FuzzNormalizeUserCode feeds typed user codes.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdf ghjk", "", "ß-ǅ", "BCDFGHJKL", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := NormalizeUserCode(in)
		if NormalizeUserCode(out) != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, NormalizeUserCode(out))
		}
		if strings.Trim(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
			t.Fatalf("NormalizeUserCode(%q) = %q has other characters", in, out)
		}
	})
}

// FuzzBearer feeds Authorization header values.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  abc ", "Basic Zm9v", "Bearer", "Bearer ", "", "Bearer a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", h)
		tok, ok := bearer(r)
		if ok && (tok == "" || tok != strings.TrimSpace(tok)) {
			t.Fatalf("bearer(%q) = %q", h, tok)
		}
	})
}
