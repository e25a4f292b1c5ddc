package logout

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
)

func TestNewCmdLogout(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}}
	var got *Options
	cmd := NewCmdLogout(f, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil || got == nil || got.IO != ios {
		t.Fatalf("options %+v, %v", got, err)
	}
}

// TestLogoutRun: the stored tokens are revoked on the server, then
// forgotten; with nothing stored, ARS_TOKEN is named.
func TestLogoutRun(t *testing.T) {
	var mu sync.Mutex
	var revoked []string
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"` + srv.URL + `","token_endpoint":"` + srv.URL + `/oauth/token","revocation_endpoint":"` + srv.URL + `/oauth/revoke"}`))
	})
	mux.HandleFunc("POST /oauth/revoke", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		revoked = append(revoked, r.PostForm.Get("token_type_hint")+"="+r.PostForm.Get("token"))
		mu.Unlock()
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()

	store := &auth.FileStore{Path: filepath.Join(t.TempDir(), "tokens.json")}
	if err := store.Save(srv.URL, &oauth2.Token{AccessToken: "a1", RefreshToken: "r1"}); err != nil {
		t.Fatal(err)
	}
	env := false
	ios, _, _, errOut := iostreams.Test()
	opts := &Options{
		IO:         ios,
		ServerURL:  func() (string, error) { return srv.URL, nil },
		TokenStore: func() auth.Store { return store },
		HTTPClient: func() *http.Client { return srv.Client() },
		EnvToken:   func() bool { return env },
	}
	if err := logoutRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(revoked, " "); got != "refresh_token=r1 access_token=a1" {
		t.Errorf("revoked %q", got)
	}
	if _, err := store.Load(srv.URL); err != auth.ErrNoToken {
		t.Errorf("token still stored (%v)", err)
	}
	if !strings.Contains(errOut.String(), "✓ Signed out of "+srv.URL) {
		t.Errorf("stderr %q", errOut.String())
	}
	errOut.Reset()
	env = true
	if err := logoutRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "the token in use comes from ARS_TOKEN: unset it") {
		t.Errorf("stderr %q", errOut.String())
	}
}
