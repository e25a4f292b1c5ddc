package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/notify"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// ownerWithOrder makes an account with a printer whose cyan supply ordered.
func ownerWithOrder(t *testing.T, st *store.Store, email string) (arsapi.Account, arsapi.Order) {
	t.Helper()
	ctx := context.Background()
	a, err := st.CreateAccount(ctx, email, pw, "Owner")
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.CreateEnrollment(ctx, a.ID, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
		Printer: arsapi.Printer{Model: "TS8320", Serial: "SN-" + email, Label: "Office"}, TermsVersion: "2024-01"}, 15)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.ReportLevels(ctx, a.ID, e.ID, arsapi.LevelReport{ReadAt: time.Now().UTC(),
		Supplies: []printer.Supply{{Name: "C", Type: "inkCartridge", ColorName: "cyan", Level: 4}}})
	if err != nil || len(res.Orders) != 1 {
		t.Fatalf("ReportLevels: %+v, %v", res, err)
	}
	return a, res.Orders[0]
}

// TestOrderLinks attacks the one-click links: prefetching, CSRF, forged,
// cross-account, expired, replayed and junk links change nothing; the
// genuine link acts once.
func TestOrderLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		now := time.Now()
		clock := func() time.Time { return now }
		sg, err := notify.NewSigner([]byte(strings.Repeat("k", 32)), clock)
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, d, web.Options{Links: sg})
		e.st.DefaultHold = store.DefaultHoldWindow
		state := func(o arsapi.Order) arsapi.OrderState {
			t.Helper()
			got, err := e.st.OrderNoticeFor(context.Background(), o.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.Order.State
		}
		a, order := ownerWithOrder(t, e.st, "a@example.com")
		b, orderB := ownerWithOrder(t, e.st, "b@example.com")
		if order.State != arsapi.OrderScheduled || orderB.State != arsapi.OrderScheduled || order.HoldUntil == nil {
			t.Fatalf("orders %s and %s, want scheduled with a hold", order.State, orderB.State)
		}
		hold := *order.HoldUntil
		sign := func(account, orderID string, act notify.Action, exp time.Time) string {
			tok, err := sg.Sign(account, orderID, act, exp)
			if err != nil {
				t.Fatal(err)
			}
			return notify.LinkPath + tok
		}
		skip := sign(a.ID, order.ID, notify.ActionSkip, hold)

		// A prefetcher (mail scanner, link preview) only GETs: nothing happens.
		c := e.client()
		r := c.get(skip)
		if r.status != http.StatusOK {
			t.Fatalf("GET link: HTTP %d: %s\n%s", r.status, trim(r.body), e.log.String())
		}
		mustContain(t, "confirm page", r.body, "Skip this order?", "Office (TS8320)", `id="link-confirm"`)
		if got := r.header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q, want no-referrer", got)
		}
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q", got)
		}
		for range 3 {
			c.get(skip)
		}
		if state(order) != arsapi.OrderScheduled {
			t.Fatal("GET acted on the order")
		}

		// CSRF: a POST without the page's token, or from another browser
		// with a token of its own, is refused.
		if r := c.post(skip, url.Values{}); r.status != http.StatusForbidden {
			t.Errorf("POST without token: HTTP %d", r.status)
		}
		other := e.client()
		otherTok := other.csrf(web.LoginPath)
		if r := c.post(skip, url.Values{"csrf_token": {otherTok}}); r.status != http.StatusForbidden {
			t.Errorf("POST with another browser's token: HTTP %d", r.status)
		}
		if state(order) != arsapi.OrderScheduled {
			t.Fatal("a cross-site POST acted on the order")
		}

		// Forged and cross-account links: all "not valid", nothing done.
		tok := strings.TrimPrefix(skip, notify.LinkPath)
		flipped := []byte(tok)
		flipped[len(flipped)/2] ^= 0x01
		if flipped[len(flipped)/2] == '`' { // keep it in the alphabet
			flipped[len(flipped)/2] = 'a'
		}
		forged := map[string]string{
			"flipped":              notify.LinkPath + string(flipped),
			"B's account for A":    sign(b.ID, order.ID, notify.ActionSkip, hold),
			"A's account for B":    sign(a.ID, orderB.ID, notify.ActionSkip, hold),
			"unknown order":        sign(a.ID, "0190f0a0-0000-7000-8000-000000000000", notify.ActionSkip, hold),
			"junk":                 notify.LinkPath + "not-a-link",
			"long junk":            notify.LinkPath + strings.Repeat("A", 4000),
			"other key":            notify.LinkPath + otherKey(t, a.ID, order.ID, hold),
			"encoded line break":   notify.LinkPath + tok[:10] + "%0A" + tok[10:],
			"path traversal":       notify.LinkPath + "..%2F..%2Fsubscriptions",
			"unicode":              notify.LinkPath + "%E2%80%AE" + tok,
			"empty-ish":            notify.LinkPath + "A",
			"truncated by 1":       notify.LinkPath + tok[:len(tok)-1],
			"with a byte appended": notify.LinkPath + tok + "A",
		}
		for name, link := range forged {
			ct := c.csrf(skip)
			g := c.get(link)
			p := c.post(link, url.Values{"csrf_token": {ct}})
			if g.status != http.StatusNotFound || p.status != http.StatusNotFound || !strings.Contains(p.body, "Link not valid") {
				t.Errorf("%s link: GET HTTP %d, POST HTTP %d, want 404 not valid", name, g.status, p.status)
			}
		}
		if state(order) != arsapi.OrderScheduled || state(orderB) != arsapi.OrderScheduled {
			t.Fatal("a forged link acted")
		}

		// The genuine link, confirmed: acts once.
		ct := c.csrf(skip)
		r = c.post(skip, url.Values{"csrf_token": {ct}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "Order skipped") {
			t.Fatalf("confirm: HTTP %d: %s", r.status, trim(r.body))
		}
		if st := state(order); st != arsapi.OrderSkipped {
			t.Fatalf("order %s after the link, want skipped", st)
		}
		// Replayed: refused, from this browser and another.
		if r := c.post(skip, url.Values{"csrf_token": {ct}}); r.status != http.StatusConflict || !strings.Contains(r.body, "already used") {
			t.Errorf("replayed POST: HTTP %d", r.status)
		}
		if r := other.get(skip); r.status != http.StatusConflict {
			t.Errorf("GET of a used link: HTTP %d", r.status)
		}

		// The ship link of the same, now handled, order: consumed, says so.
		ship := sign(a.ID, order.ID, notify.ActionShip, hold)
		ct = c.csrf(ship)
		if r := c.post(ship, url.Values{"csrf_token": {ct}}); r.status != http.StatusConflict || !strings.Contains(r.body, "already handled") {
			t.Errorf("ship after skip: HTTP %d: %s", r.status, trim(r.body))
		}
		if st := state(order); st != arsapi.OrderSkipped {
			t.Errorf("order %s, want still skipped", st)
		}

		// B's ship link hands B's order over now; used once.
		shipB := sign(b.ID, orderB.ID, notify.ActionShip, *orderB.HoldUntil)
		ct = c.csrf(shipB)
		if r := c.post(shipB, url.Values{"csrf_token": {ct}}); r.status != http.StatusOK || !strings.Contains(r.body, "Order shipping now") {
			t.Fatalf("ship: HTTP %d: %s", r.status, trim(r.body))
		}
		if n, err := e.st.OrderNoticeFor(context.Background(), orderB.ID); err != nil || n.Order.HoldUntil == nil || n.Order.HoldUntil.After(time.Now()) {
			t.Errorf("after the ship link B's order holds until %v (%v), want now", n.Order.HoldUntil, err)
		}

		// Expired: at the end of the hold the link stops working.
		c2, orderC := ownerWithOrder(t, e.st, "c@example.com")
		shipB = sign(c2.ID, orderC.ID, notify.ActionShip, *orderC.HoldUntil)
		ct = c.csrf(shipB)
		now = *orderC.HoldUntil
		if r := c.get(shipB); r.status != http.StatusGone {
			t.Errorf("GET of an expired link: HTTP %d", r.status)
		}
		if r := c.post(shipB, url.Values{"csrf_token": {ct}}); r.status != http.StatusGone {
			t.Errorf("POST of an expired link: HTTP %d", r.status)
		}
		if state(orderC) != arsapi.OrderScheduled {
			t.Error("an expired link acted")
		}
	})
}

func otherKey(t *testing.T, account, orderID string, exp time.Time) string {
	sg, _ := notify.NewSigner([]byte(strings.Repeat("x", 32)), nil)
	tok, err := sg.Sign(account, orderID, notify.ActionSkip, exp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestEmailSettings attacks the settings form: no session, no CSRF token,
// junk values; and checks that a saved choice is shown and kept.
func TestEmailSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		if r := e.client().get(web.SettingsPath); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), web.LoginPath) {
			t.Fatalf("signed-out settings: HTTP %d to %q", r.status, r.location())
		}
		if r := e.client().post(web.SettingsPath, url.Values{"email_on": {"on"}, "email": {"x@evil.example"}}); r.status != http.StatusForbidden {
			t.Errorf("signed-out POST: HTTP %d", r.status)
		}
		c := e.client()
		c.register("owner@example.com", pw)
		r := c.get(web.SettingsPath)
		mustContain(t, "settings page", r.body, "Email settings", `id="email_on" name="email_on" value="on" checked`, `placeholder="owner@example.com"`, `id="not-sending"`)
		acct, _ := e.st.CheckPassword(context.Background(), "owner@example.com", pw)

		if r := c.post(web.SettingsPath, url.Values{"email": {"x@evil.example"}}); r.status != http.StatusForbidden {
			t.Errorf("POST without CSRF token: HTTP %d", r.status)
		}
		// Another account's session cannot reach this account's settings:
		// they are the session's own.
		mallory := e.client()
		mallory.register("mallory@example.com", pw)
		mt := mallory.csrf(web.SettingsPath)
		if r := mallory.post(web.SettingsPath, url.Values{"csrf_token": {mt}, "email": {"mallory@example.com"}, "account": {acct.ID}}); r.status != http.StatusSeeOther {
			t.Fatalf("mallory's own save: HTTP %d", r.status)
		}
		if ns, _ := e.st.NotifySettings(context.Background(), acct.ID); !ns.EmailOn || ns.Email != "" {
			t.Fatalf("another account's POST changed the owner's settings: %+v", ns)
		}

		tok := c.csrf(web.SettingsPath)
		for _, junk := range []url.Values{
			{"email_on": {"on"}, "email": {"not an address"}},
			{"email_on": {"on"}, "email": {"a@b.example\r\nBcc: x@evil.example"}},
			{"email_on": {"on"}, "email": {strings.Repeat("a", 300) + "@example.com"}},
			{"email_on": {"on"}, "email": {"<script>@example.com"}},
		} {
			junk.Set("csrf_token", tok)
			r := c.post(web.SettingsPath, junk)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Enter an email address") || strings.Contains(r.body, "<script>@") {
				t.Errorf("junk %q: HTTP %d: %s", junk.Get("email"), r.status, trim(r.body))
			}
		}
		if r := c.post(web.SettingsPath, url.Values{"csrf_token": {tok}, "email_on": {"yes please"}}); r.status != http.StatusBadRequest {
			t.Errorf("email_on junk: HTTP %d", r.status)
		}
		if ns, _ := e.st.NotifySettings(context.Background(), acct.ID); !ns.EmailOn || ns.Email != "" {
			t.Fatalf("junk changed the settings: %+v", ns)
		}

		r = c.post(web.SettingsPath, url.Values{"csrf_token": {tok}, "email": {" Printing@Example.com "}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("save: HTTP %d: %s", r.status, trim(r.body))
		}
		ns, err := e.st.NotifySettings(context.Background(), acct.ID)
		if err != nil || ns.EmailOn || ns.Email != "printing@example.com" {
			t.Fatalf("saved %+v, %v; want off, printing@example.com", ns, err)
		}
		r = c.get(r.location())
		mustContain(t, "saved settings page", r.body, "Your email settings are saved.", `value="printing@example.com"`)
		if strings.Contains(r.body, `value="on" checked`) {
			t.Error("the page shows emails on after turning them off")
		}
	})
}
