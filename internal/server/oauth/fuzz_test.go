package oauth

import (
	"net/http"
	"strings"
	"testing"
)

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
