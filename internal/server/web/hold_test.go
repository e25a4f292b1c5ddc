package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestHoldForms holds new orders for an hour (the account's setting) and
// skips one and ships another from View Printer Details: the forms need
// the CSRF token, a skipped order is never handed over, a shipped one is
// handed over at once (here to the order inbox), and each supply shows its
// forecast.
func TestHoldForms(t *testing.T) {
	eachServer(t, func(t *testing.T, e *env) {
		c := e.client()
		c.register("hold@example.com", pw)
		token := e.token("hold@example.com", pw)
		hour := 60
		if st := e.api(http.MethodPut, "/v1/account/order-settings", token, arsapi.OrderSettings{HoldMinutes: &hour}, nil); st != http.StatusOK {
			t.Fatalf("order settings: HTTP %d", st)
		}
		orderOf := func(en arsapi.Enrollment) arsapi.Order {
			var l arsapi.List[arsapi.Order]
			if st := e.api(http.MethodGet, "/v1/enrollments/"+en.ID+"/orders", token, nil, &l); st != http.StatusOK || len(l.Items) != 1 {
				t.Fatalf("orders: HTTP %d %+v", st, l)
			}
			return l.Items[0]
		}
		en := e.enroll(token, "TS8320", "KMHO00001", "Hall")
		o := orderOf(en)
		if o.State != arsapi.OrderScheduled || o.HoldUntil == nil {
			t.Fatalf("order %+v, want scheduled", o)
		}
		r := c.get(web.PrinterPath(en.ID))
		mustContain(t, "View Printer Details", r.body, "Scheduled: you may skip it or ship it now", "unless you skip it",
			`action="/subscriptions/orders/`+o.ID+`/skip"`, ">Ship now<", "Forecast: no rate yet")
		if r := c.post(web.OrdersPath+"/"+o.ID+"/skip", url.Values{"csrf_token": {"forged"}}); r.status != http.StatusForbidden {
			t.Errorf("skip without the CSRF token: HTTP %d", r.status)
		}
		r = c.post(web.OrdersPath+"/"+o.ID+"/skip", url.Values{"csrf_token": {c.csrf(web.PrinterPath(en.ID))}})
		if r.status != http.StatusSeeOther || r.location() != web.PrinterPath(en.ID)+"?done=skipped#orders-heading" {
			t.Fatalf("skip: HTTP %d to %q: %s", r.status, r.location(), trim(r.body))
		}
		mustContain(t, "details after skip", c.get(web.PrinterPath(en.ID)+"?done=skipped").body, "The order is skipped", ">Skipped<")
		if got := orderOf(en); got.State != arsapi.OrderSkipped {
			t.Fatalf("after skip: %+v", got)
		}
		// Skipping again from a stale page: the order is no longer
		// scheduled for shipping.
		if r := c.post(web.OrdersPath+"/"+o.ID+"/ship", url.Values{"csrf_token": {c.csrf(web.PrinterPath(en.ID))}}); r.status != http.StatusConflict {
			t.Errorf("ship a skipped order: HTTP %d", r.status)
		}

		en2 := e.enroll(token, "TS8320", "KMHO00002", "Office")
		o2 := orderOf(en2)
		r = c.post(web.OrdersPath+"/"+o2.ID+"/ship", url.Values{"csrf_token": {c.csrf(web.PrinterPath(en2.ID))}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("ship now: HTTP %d: %s", r.status, trim(r.body))
		}
		e.waitOrder(en2.ID, arsapi.OrderUnfulfilled)

		// Another account cannot act on it.
		c2 := e.client()
		c2.register("other-hold@example.com", pw)
		if r := c2.post(web.OrdersPath+"/"+o.ID+"/skip", url.Values{"csrf_token": {c2.csrf(web.OrdersPath)}}); r.status != http.StatusNotFound {
			t.Errorf("another account skips it: HTTP %d", r.status)
		}
	})
}
