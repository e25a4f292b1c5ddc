package signin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/tableprinter"
)

// TestDeviceCodeFitsTheTerminal: what the device sign-in tells the person
// breaks between words on an 80-column terminal; it was printed as one
// line, which the terminal broke inside "code:" (and register's "sign-in").
func TestDeviceCodeFitsTheTerminal(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	long := srv.URL + "/device/of/a/server/with/a/long/address"
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "token_endpoint": srv.URL + "/token",
			"device_authorization_endpoint": srv.URL + "/device_authorization"})
	})
	mux.HandleFunc("/device_authorization", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"device_code": "dc", "user_code": "ZFGT-BXTF",
			"verification_uri": long, "verification_uri_complete": long + "?user_code=ZFGT-BXTF", "expires_in": 600, "interval": 1})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"access_denied"}`))
	})
	ios, _, _, errOut := iostreams.Test()
	ios.SetTTY(true)
	ios.SetTerminalWidth(80)
	fl := &Flow{IO: ios, HTTPClient: srv.Client(), Getenv: func(string) string { return "" }}
	if _, err := fl.Login(context.Background(), srv.URL, Mode{Device: true}); err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("Login = %v, want access denied", err)
	}
	got := errOut.String()
	for _, want := range []string{"enter the code:\n", "\n    ZFGT-BXTF\n", long + "?user_code=ZFGT-BXTF"} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		// A URL longer than the terminal is left whole on its own line;
		// the progress spinner redraws one line.
		if w := tableprinter.Width(l); w > 80 && !strings.Contains(l, long+"?") && !strings.Contains(l, "\r") {
			t.Errorf("line of %d columns: %q", w, l)
		}
	}
}
