package web_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestControlCharactersRefusedAlike sends NUL and other control
// characters through every door of a whole arsd: the API (account name,
// cancel comment, API token name, an id in the path), the web forms
// (Register, Cancel Plan) and the URL of a page. Each answers a clear
// 4xx, never a 500, and the same on SQLite and PostgreSQL (which has no
// NUL in text); nothing is stored or changed.
func TestControlCharactersRefusedAlike(t *testing.T) {
	eachServer(t, func(t *testing.T, e *env) {
		const email = "text@example.com"
		c := e.client()
		c.register(email, pw)
		token := e.token(email, pw)
		en := e.enroll(token, "TS8320", "KMCT01234", "Office")

		// The API.
		raw := func(method, path, body string) (int, arsapi.Problem) {
			t.Helper()
			req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			res, err := e.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var p arsapi.Problem
			_ = json.Unmarshal(b, &p)
			return res.StatusCode, p
		}
		for _, tc := range []struct {
			what, method, path, body string
			status                   int
			detail                   string
		}{
			{"account name", "POST", "/v1/accounts", `{"email":"nul@example.com","password":"` + pw + `","name":"Ann\u0000Smith"}`, 422, "U+0000"},
			{"account name with a bell", "POST", "/v1/accounts", `{"email":"bel@example.com","password":"` + pw + `","name":"Ann\u0007"}`, 422, "U+0007"},
			{"cancel comment", "POST", "/v1/enrollments/" + en.ID + "/cancel", `{"reasons":["other"],"comment":"bye\u0000"}`, 422, "U+0000"},
			{"cancel comment with escape", "POST", "/v1/enrollments/" + en.ID + "/cancel", `{"reasons":["other"],"comment":"bye\u001b[2J"}`, 422, "U+001B"},
			{"token name", "POST", "/v1/tokens", `{"name":"ci\u0000"}`, 422, "U+0000"},
			{"nickname", "POST", "/v1/enrollments", `{"provider":"canon","terms_version":"` + e.cat.Terms().Version + `","printer":{"model":"TS8320","serial":"KMCT09999","nickname":"a\u0000b"}}`, 422, "U+0000"},
			{"enrollment id", "GET", "/v1/enrollments/" + url.PathEscape("a\x00b"), "", 400, "control character"},
			{"orders of an id", "GET", "/v1/enrollments/" + url.PathEscape("\x00") + "/orders", "", 400, "control character"},
			{"not UTF-8 in an id", "GET", "/v1/enrollments/%ff", "", 400, "not UTF-8"},
			{"token id", "DELETE", "/v1/tokens/" + url.PathEscape("\x00"), "", 400, "control character"},
			{"cursor", "GET", "/v1/enrollments?cursor=" + url.QueryEscape("\x00"), "", 400, "control character"},
		} {
			st, p := raw(tc.method, tc.path, tc.body)
			if st != tc.status || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%s: HTTP %d %q, want %d and a detail with %q", tc.what, st, p.Detail, tc.status, tc.detail)
			}
		}

		// The web forms and pages.
		c2 := e.client()
		tok := c2.csrf(web.RegisterPath)
		r := c2.post(web.RegisterPath, url.Values{"csrf_token": {tok}, "email": {"form@example.com"}, "name": {"Bob\x00"},
			"password": {pw}, "password_confirm": {pw}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("Register with a NUL in the name: HTTP %d", r.status)
		}
		mustContain(t, "Register with a NUL in the name", html.UnescapeString(r.body), "Name: the name contains the control character U+0000.", `role="alert"`)

		path := web.PrinterPath(en.ID)
		tok = c.csrf(path + "/plan")
		r = c.post(path+"/cancel", url.Values{"csrf_token": {tok}, "reason": {"other"}, "comment": {"moving\x00"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("Cancel Plan with a NUL in the comment: HTTP %d", r.status)
		}
		mustContain(t, "Cancel Plan with a NUL in the comment", html.UnescapeString(r.body), "Comment contains the control character U+0000.")
		for _, p := range []string{web.PrintersPath + "/" + url.PathEscape("\x00"), web.PrintersPath + "/%ff/plan", web.AboutPath + "?printer=%00"} {
			if r := c.get(p); r.status != http.StatusBadRequest {
				t.Errorf("GET %s: HTTP %d, want 400", p, r.status)
			}
		}

		// Nothing was stored or changed.
		if _, err := e.st.CheckPassword(t.Context(), "nul@example.com", pw); err == nil {
			t.Error("an account with a NUL in its name was created")
		}
		if _, err := e.st.CheckPassword(t.Context(), "form@example.com", pw); err == nil {
			t.Error("an account with a NUL in its name was created through Register")
		}
		if got := e.enrollment(token, en.ID); got.State != arsapi.StateActive {
			t.Errorf("after refused cancellations the plan is %s", got.State)
		}

		// Tabs and line ends are text in a comment; a browser's CRLF is
		// stored as a newline.
		r = c.post(path+"/cancel", url.Values{"csrf_token": {tok}, "reason": {"other"}, "comment": {"moving\r\nabroad\tsoon"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("Cancel Plan with a two-line comment: HTTP %d: %s", r.status, trim(r.body))
		}
		if got := e.enrollment(token, en.ID); got.Cancellation == nil || got.Cancellation.Comment != "moving\nabroad\tsoon" {
			t.Errorf("cancellation = %+v", got.Cancellation)
		}
	})
}
