package auth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestLoginBrowserIgnoresForeignCallbacks: while arsctl waits for the
// browser, another local process (or a page open in the browser) finds
// the loopback port and sends callbacks with a wrong state, no state, or
// a code of its own. None may end the sign-in: the browser's answer,
// which carries the request's state, still signs in with its code.
func TestLoginBrowserIgnoresForeignCallbacks(t *testing.T) {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("code") != "browser-code" || r.PostForm.Get("code_verifier") == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 900})
	}))
	defer as.Close()
	e := Endpoints{AuthURL: as.URL + "/authorize", TokenURL: as.URL + "/token"}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	visited := make(chan struct{})
	open := func(authURL string) error {
		u, err := url.Parse(authURL)
		if err != nil {
			return err
		}
		q := u.Query()
		cb := q.Get("redirect_uri")
		go func() {
			defer close(visited)
			for _, attack := range []string{"?state=guess&code=attacker-code", "?code=attacker-code", "?state=&error=access_denied", "?state=guess&error=access_denied"} {
				if st := get(cb + attack); st != http.StatusBadRequest {
					t.Errorf("foreign callback %s answered %d", attack, st)
				}
			}
			if st := get(cb + "?" + url.Values{"state": {q.Get("state")}, "code": {"browser-code"}}.Encode()); st != http.StatusOK {
				t.Errorf("the browser's callback answered %d", st)
			}
		}()
		return nil
	}
	tok, err := LoginBrowser(ctx, http.DefaultClient, e, open)
	<-visited
	if err != nil {
		t.Fatalf("sign-in ended by a foreign callback: %v", err)
	}
	if tok.AccessToken != "at" {
		t.Fatalf("token = %+v", tok)
	}
}
