package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"

	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestOrderSettingsForms sets the account's order policy and hold on the
// Settings page and a printer's own on View Printer Details: the forms
// need the CSRF token, what is saved is what the API then answers, each
// page says where a value comes from, a bad hold is refused with the form
// kept as typed, and another account cannot change a printer's.
func TestOrderSettingsForms(t *testing.T) {
	eachServer(t, func(t *testing.T, e *env) {
		c := e.client()
		c.register("settings@example.com", pw)
		token := e.token("settings@example.com", pw)
		en := e.enroll(token, "TS8320", "KMST00001", "Hall")
		settingsOf := func(id string) arsapi.OrderSettings {
			t.Helper()
			path := "/v1/account/order-settings"
			if id != "" {
				path = "/v1/enrollments/" + id + "/order-settings"
			}
			var set arsapi.OrderSettings
			if st := e.api(http.MethodGet, path, token, nil, &set); st != http.StatusOK || set.Effective == nil {
				t.Fatalf("GET %s: HTTP %d %+v", path, st, set)
			}
			return set
		}

		r := c.get(web.SettingsPath)
		mustContain(t, "Settings page", r.body, "When ink is ordered", `action="/subscriptions/settings/orders#order-settings"`,
			"<strong>forecast</strong> policy (the service&#39;s default)", `<option value="" selected>The service's default (forecast)</option>`,
			`placeholder="no hold, the service's default"`, "empty: the service's default (no hold).")
		if r := c.post(web.SettingsPath+"/orders", url.Values{"csrf_token": {"forged"}, "policy": {"threshold"}}); r.status != http.StatusForbidden {
			t.Errorf("save without the CSRF token: HTTP %d", r.status)
		}
		if set := settingsOf(""); set.Policy != "" {
			t.Fatalf("forged form changed the settings: %+v", set)
		}
		r = c.post(web.SettingsPath+"/orders", url.Values{"csrf_token": {c.csrf(web.SettingsPath)}, "policy": {"threshold"}, "hold": {"2h"}})
		if r.status != http.StatusSeeOther || r.location() != web.SettingsPath+"?done=orders#order-settings" {
			t.Fatalf("save account: HTTP %d to %q: %s", r.status, r.location(), trim(r.body))
		}
		if set := settingsOf(""); set.Policy != "threshold" || set.HoldMinutes == nil || *set.HoldMinutes != 120 {
			t.Fatalf("account after save: %+v", set)
		}
		mustContain(t, "Settings after save", c.get(web.SettingsPath+"?done=orders").body, `id="order-settings-saved"`,
			"<strong>threshold</strong> policy (set for the account); new orders are held for <strong>2h</strong> (set for the account)",
			`<option value="threshold" selected>`, `value="2h"`)

		// The printer inherits the account's until it has its own.
		pp := web.PrinterPath(en.ID)
		mustContain(t, "printer inherits", c.get(pp).body, `<option value="" selected>As the account (threshold)</option>`,
			"<strong>threshold</strong> policy (set for the account)", `placeholder="2h, as the account"`, "empty: as the account (2h).")
		r = c.post(pp+"/order-settings", url.Values{"csrf_token": {c.csrf(pp)}, "policy": {"forecast"}, "hold": {"0"}})
		if r.status != http.StatusSeeOther || r.location() != pp+"?done=settings#order-settings" {
			t.Fatalf("save printer: HTTP %d to %q: %s", r.status, r.location(), trim(r.body))
		}
		if set := settingsOf(en.ID); set.Policy != "forecast" || set.HoldMinutes == nil || *set.HoldMinutes != 0 ||
			set.Effective.PolicyFrom != arsapi.SettingFromPrinter || set.Effective.HoldFrom != arsapi.SettingFromPrinter {
			t.Fatalf("printer after save: %+v %+v", set, *set.Effective)
		}
		mustContain(t, "printer after save", c.get(pp+"?done=settings").body, `id="order-settings-saved"`,
			"<strong>forecast</strong> policy (set for this printer); new orders are <strong>not held</strong> (set for this printer)")

		// A bad hold: refused, nothing changes, the form keeps what was typed.
		r = c.post(pp+"/order-settings", url.Values{"csrf_token": {c.csrf(pp)}, "policy": {""}, "hold": {"soon"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("bad hold: HTTP %d", r.status)
		}
		mustContain(t, "bad hold", r.body, "Enter the hold as a duration", `value="soon"`, `aria-invalid="true"`)
		if set := settingsOf(en.ID); set.Policy != "forecast" || *set.HoldMinutes != 0 {
			t.Fatalf("printer after a refused form: %+v", set)
		}
		// A count of days so large it wrapped around to a 32-minute hold.
		r = c.post(pp+"/order-settings", url.Values{"csrf_token": {c.csrf(pp)}, "policy": {""}, "hold": {"275219977228197d"}})
		if set := settingsOf(en.ID); r.status != http.StatusUnprocessableEntity || set.Policy != "forecast" || *set.HoldMinutes != 0 {
			t.Fatalf("a huge hold: HTTP %d, printer %+v", r.status, set)
		}
		if r := c.post(pp+"/order-settings", url.Values{"csrf_token": {c.csrf(pp)}, "policy": {"sometimes"}}); r.status != http.StatusUnprocessableEntity {
			t.Errorf("unknown policy: HTTP %d", r.status)
		}
		// Back to the account's: empty fields inherit.
		if r := c.post(pp+"/order-settings", url.Values{"csrf_token": {c.csrf(pp)}, "policy": {""}, "hold": {""}}); r.status != http.StatusSeeOther {
			t.Fatalf("inherit: HTTP %d", r.status)
		}
		if set := settingsOf(en.ID); set.Policy != "" || set.HoldMinutes != nil || set.Effective.Policy != "threshold" {
			t.Fatalf("printer after inherit: %+v", set)
		}

		c2 := e.client()
		c2.register("other-settings@example.com", pw)
		if r := c2.post(pp+"/order-settings", url.Values{"csrf_token": {c2.csrf(web.SettingsPath)}, "policy": {"forecast"}}); r.status != http.StatusNotFound {
			t.Errorf("another account sets the printer's: HTTP %d", r.status)
		}
	})
}

// TestOrderSettingsNameTheDefault: the account's form names the server's
// own default policy and hold, which an empty field gives, also once the
// account has set its own (the "Now" line then no longer shows them).
func TestOrderSettingsNameTheDefault(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		e.st.OrderPolicy, e.st.DefaultHold = "threshold", 24*time.Hour
		c := e.client()
		c.register("defaults@example.com", pw)
		mustContain(t, "Settings page", c.get(web.SettingsPath).body,
			"<strong>threshold</strong> policy (the service&#39;s default); new orders are held for <strong>24h</strong> (the service&#39;s default)",
			`<option value="" selected>The service's default (threshold)</option>`,
			`placeholder="24h, the service's default"`, "empty: the service's default (24h).")
		r := c.post(web.SettingsPath+"/orders", url.Values{"csrf_token": {c.csrf(web.SettingsPath)}, "policy": {"forecast"}, "hold": {"2h"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("save account: HTTP %d: %s", r.status, trim(r.body))
		}
		mustContain(t, "Settings after save", c.get(web.SettingsPath).body,
			"<strong>forecast</strong> policy (set for the account)",
			`<option value="">The service's default (threshold)</option>`, `value="2h"`, "empty: the service's default (24h).")
	})
}
