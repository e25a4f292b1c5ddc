package notify_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/notify"
	"github.com/arsctl/arsctl/internal/server/notify/smtptest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

func mailer(t *testing.T, srv *smtptest.Server, password string) *notify.Mailer {
	t.Helper()
	m, err := notify.NewMailer(notify.SMTPConfig{Host: srv.Host, Port: srv.Port, Username: srv.User, Password: password,
		From: "Ink service <ink@ars.example>", RootCAs: srv.RootCAs, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parts returns the subject, text and HTML bodies of a received message.
func parts(t *testing.T, r smtptest.Received) (subject, text, html string) {
	t.Helper()
	subject, text, html, err := r.Bodies()
	if err != nil {
		t.Fatal(err)
	}
	return subject, text, html
}

func TestMailerDeliversOverSTARTTLSWithAuth(t *testing.T) {
	srv := smtptest.Start(t, "ars", "s3cret-pass")
	m := mailer(t, srv, "s3cret-pass")
	f := forecast.Forecast{Known: true, Rate: 3.14, DaysToEmpty: 9.2, DaysLow: 7, DaysHigh: 12.4}
	msg, err := notify.Compose(notify.Notice{
		ID: "0190-order", To: "owner@example.com", Name: "Ada <b>",
		Printer: "Office <script> (TS8320)", Supply: "Cyan\r\nBcc: x@evil", Level: 12, Forecast: &f,
		Scheduled: true, HoldUntil: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC),
		SkipURL: "https://ars.example/l/SKIPTOKEN", ShipURL: "https://ars.example/l/SHIPTOKEN",
		PrinterURL: "https://ars.example/subscriptions/printers/e1", SettingsURL: "https://ars.example/subscriptions/settings",
	}, "ars.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 30*time.Second)[0]
	if !got.TLS || got.User != "ars" || got.From != "ink@ars.example" || len(got.To) != 1 || got.To[0] != "owner@example.com" {
		t.Fatalf("received %+v (tls=%v user=%q): want over TLS, authenticated as ars, from ink@ars.example to owner@example.com", got.To, got.TLS, got.User)
	}
	pm, _ := got.Parse()
	if id := pm.Header.Get("Message-Id"); id != "<order-0190-order@ars.example>" {
		t.Errorf("Message-ID = %q", id)
	}
	if pm.Header.Get("Bcc") != "" {
		t.Errorf("a supply name added a Bcc header")
	}
	subject, text, html := parts(t, got)
	if !strings.Contains(subject, "Office <script> (TS8320)") || !strings.Contains(subject, "Cyan Bcc: x@evil") || strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{"Office <script> (TS8320)", "12 %", "about 9 days left (7–12), at 3.1 % a day",
		"https://ars.example/l/SKIPTOKEN", "https://ars.example/l/SHIPTOKEN", "Mon 2 Mar 2026 12:00 UTC",
		"https://ars.example/subscriptions/printers/e1", "https://ars.example/subscriptions/settings"} {
		if !strings.Contains(text, want) {
			t.Errorf("text body lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"Office &lt;script&gt; (TS8320)", "Hello Ada &lt;b&gt;", `href="https://ars.example/l/SKIPTOKEN"`,
		`href="https://ars.example/l/SHIPTOKEN"`, "about 9 days left (7–12)"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Errorf("HTML body carries a printer's markup unescaped")
	}
}

func TestMailerRefusesWrongPasswordAndPlainServers(t *testing.T) {
	srv := smtptest.Start(t, "ars", "right")
	msg := notify.Message{To: "owner@example.com", Subject: "x", Text: "x"}
	if err := mailer(t, srv, "wrong").Send(context.Background(), msg); err == nil {
		t.Fatal("sent with a wrong password")
	} else if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
	plain := smtptest.StartWithoutTLS(t, "ars", "right")
	if err := mailer(t, plain, "right").Send(context.Background(), msg); err == nil {
		t.Fatal("sent to a server without STARTTLS")
	}
	if n := len(srv.Messages()) + len(plain.Messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
	srv.Reject("gone@example.com")
	err := mailer(t, srv, "right").Send(context.Background(), notify.Message{To: "gone@example.com", Subject: "x", Text: "x"})
	if !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("refused recipient: err = %v, want ErrPermanent", err)
	}
}

func TestNewMailerChecksConfig(t *testing.T) {
	for _, c := range []notify.SMTPConfig{
		{},
		{Host: "h", From: "not an address"},
		{Host: "h", From: "a@b", TLS: "none"},
		{Host: "h", From: "a@b", Username: "u"},
		{Host: "h", From: "a@b", Port: 70000},
	} {
		if _, err := notify.NewMailer(c); err == nil {
			t.Errorf("NewMailer(%+v) accepted", c)
		}
	}
}

// fixture is an account with an enrollment whose cyan supply just ordered.
type fixture struct {
	st      *store.Store
	account arsapi.Account
	enr     arsapi.Enrollment
	order   arsapi.Order
}

func newFixture(t *testing.T, d *db.DB, email string) fixture {
	t.Helper()
	return newFixtureHold(t, d, email, store.DefaultHoldWindow)
}

// newFixtureHold is newFixture with the given hold window of new orders.
func newFixtureHold(t *testing.T, d *db.DB, email string, hold time.Duration) fixture {
	t.Helper()
	ctx := context.Background()
	st := store.New(d)
	st.DefaultHold = hold
	a, err := st.CreateAccount(ctx, email, "correct horse battery", "Ada")
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.CreateEnrollment(ctx, a.ID, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
		Printer: arsapi.Printer{Model: "TS8320", Serial: "SN" + email, Label: "Office"}, TermsVersion: "2024-01"}, 15)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.ReportLevels(ctx, a.ID, e.ID, arsapi.LevelReport{ReadAt: time.Now().UTC(),
		Supplies: []printer.Supply{{Name: "Cyan", Type: "inkCartridge", ColorName: "cyan", Level: 5}}})
	if err != nil || len(res.Orders) != 1 {
		t.Fatalf("ReportLevels: %+v, %v; want one order", res, err)
	}
	return fixture{st: st, account: a, enr: e, order: res.Orders[0]}
}

func newNotifier(t *testing.T, st *store.Store, srv *smtptest.Server) *notify.Notifier {
	t.Helper()
	sg, err := notify.NewSigner([]byte(strings.Repeat("k", 32)), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Config{Queue: st, Sender: mailer(t, srv, srv.Password), Signer: sg, PublicURL: "https://ars.example"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNotifierSendsEachOrderOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		srv := smtptest.Start(t, "ars", "pw")
		f := newFixture(t, d, "ada@example.com")
		n := newNotifier(t, f.st, srv)
		if _, err := n.SendOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := n.SendOnce(ctx); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 || msgs[0].To[0] != "ada@example.com" {
			t.Fatalf("messages %+v, want one to ada@example.com", msgs)
		}
		subject, text, _ := parts(t, msgs[0])
		if !strings.Contains(subject, "unless you skip it") || !strings.Contains(text, "Office (TS8320)") || !strings.Contains(text, "Cyan, at 5 %") {
			t.Errorf("subject %q, text body:\n%s", subject, text)
		}
		// Both links are signed for this order of this account and end
		// with its hold.
		sg, _ := notify.NewSigner([]byte(strings.Repeat("k", 32)), nil)
		for _, action := range []notify.Action{notify.ActionSkip, notify.ActionShip} {
			m := regexp.MustCompile(`https://ars\.example/l/(\S+)`).FindAllStringSubmatch(text, -1)
			if len(m) != 2 {
				t.Fatalf("%d links in the text body, want 2:\n%s", len(m), text)
			}
			var found bool
			for _, mm := range m {
				l, err := notify.ParseLink(mm[1])
				if err != nil || sg.Verify(l, f.account.ID) != nil || l.OrderID != f.order.ID || !l.Expires.Equal(f.order.HoldUntil.Truncate(time.Second)) {
					t.Errorf("link %s: %+v, %v", mm[1], l, err)
				}
				found = found || l.Action == action
			}
			if !found {
				t.Errorf("no %s link", action)
			}
		}
		if _, sent, err := f.st.NoticeSent(ctx, f.order.ID); err != nil || !sent {
			t.Errorf("NoticeSent = %v, %v", sent, err)
		}
	})
}

// TestNotifierNoHold: an order handed over at once (no hold window) is
// told without links.
func TestNotifierNoHold(t *testing.T) {
	d := dbtest.SQLite(t)
	srv := smtptest.Start(t, "ars", "pw")
	f := newFixtureHold(t, d, "now@example.com", 0)
	if _, err := newNotifier(t, f.st, srv).SendOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	subject, text, html := parts(t, srv.Wait(t, 1, time.Minute)[0])
	if !strings.HasPrefix(subject, "Ink ordered for Office (TS8320): Cyan") || strings.Contains(text+html, "/l/") || !strings.Contains(text, "Ink was ordered") {
		t.Errorf("subject %q, text:\n%s", subject, text)
	}
}

func TestNotifierFollowsSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		srv := smtptest.Start(t, "ars", "pw")
		off := newFixture(t, d, "off@example.com")
		if _, err := off.st.SetNotifySettings(ctx, off.account.ID, store.NotifySettings{EmailOn: false}); err != nil {
			t.Fatal(err)
		}
		other := newFixture(t, d, "other@example.com")
		if _, err := other.st.SetNotifySettings(ctx, other.account.ID, store.NotifySettings{EmailOn: true, Email: " Printing@Example.COM "}); err != nil {
			t.Fatal(err)
		}
		if _, err := other.st.SetNotifySettings(ctx, other.account.ID, store.NotifySettings{EmailOn: true, Email: "not-an-address"}); err == nil {
			t.Fatal("saved an address that is not one")
		}
		if _, err := newNotifier(t, off.st, srv).SendOnce(ctx); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 || msgs[0].To[0] != "printing@example.com" {
			t.Fatalf("messages to %v, want only printing@example.com", msgs)
		}
	})
}

// TestNotifierReplicas runs notifiers of several replicas on one database
// at once: every order is mailed once.
func TestNotifierReplicas(t *testing.T) {
	d := dbtest.Postgres(t)
	ctx := context.Background()
	srv := smtptest.Start(t, "ars", "pw")
	const orders = 6
	for i := range orders {
		newFixture(t, d, "owner"+string(rune('a'+i))+"@example.com")
	}
	var wg sync.WaitGroup
	for range 3 {
		st := store.New(d)
		n := newNotifier(t, st, srv)
		wg.Go(func() {
			for range 3 {
				if _, err := n.SendOnce(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	msgs := srv.Messages()
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.To[0]]++
	}
	if len(msgs) != orders || len(seen) != orders {
		t.Fatalf("%d messages to %d addresses (%v), want %d, one each", len(msgs), len(seen), seen, orders)
	}
}

// TestLinkUsedOnce clicks one link from many browsers at once: one use
// wins, the others are told it was used.
func TestLinkUsedOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "race@example.com")
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, used := 0, 0
		for range 12 {
			wg.Go(func() {
				err := f.st.UseLink(ctx, "0123456789abcdef0123456789abcdef", f.order.ID, time.Now().Add(time.Hour))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, store.ErrLinkUsed):
					used++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won != 1 || used != 11 {
			t.Fatalf("%d uses won, %d told used; want 1 and 11", won, used)
		}
		if ok, err := f.st.LinkUsed(ctx, "0123456789abcdef0123456789abcdef"); err != nil || !ok {
			t.Fatalf("LinkUsed = %v, %v", ok, err)
		}
		// Used links are purged once they would have expired anyway.
		if err := f.st.UseLink(ctx, "old", f.order.ID, time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.PurgeNotices(ctx, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := f.st.LinkUsed(ctx, "old"); ok {
			t.Error("an expired used link was kept")
		}
		if ok, _ := f.st.LinkUsed(ctx, "0123456789abcdef0123456789abcdef"); !ok {
			t.Error("a live used link was purged")
		}
	})
}

// TestNotifierLimitsEmailsPerAccount: an account's address is not proven
// to be its owner's, and a client can place an order with every report
// by naming new supplies (up to store.MaxOrdersPerEnrollmentPerDay a
// day); arsd mails an account at most
// store.MaxNoticesPerDay orders a day, and other accounts still get theirs.
func TestNotifierLimitsEmailsPerAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		srv := smtptest.Start(t, "ars", "pw")
		f := newFixture(t, d, "victim@example.com")
		// The fixture's order, and as many more as the enrollment may
		// place in a day: more than the account is mailed.
		if store.MaxOrdersPerEnrollmentPerDay <= store.MaxNoticesPerDay {
			t.Fatalf("an enrollment places at most %d orders a day, not more than the %d emails an account gets", store.MaxOrdersPerEnrollmentPerDay, store.MaxNoticesPerDay)
		}
		rep := arsapi.LevelReport{ReadAt: time.Now().UTC().Add(time.Millisecond)}
		for i := range store.MaxSupplies {
			rep.Supplies = append(rep.Supplies, printer.Supply{Name: fmt.Sprintf("spam %d", i), Type: "inkCartridge", Level: 1})
		}
		if res, err := f.st.ReportLevels(ctx, f.account.ID, f.enr.ID, rep); err != nil || len(res.Orders) != store.MaxOrdersPerEnrollmentPerDay-1 {
			t.Fatalf("report: %d orders, %v; want %d", len(res.Orders), err, store.MaxOrdersPerEnrollmentPerDay-1)
		}
		newFixture(t, d, "bystander@example.com")
		n := newNotifier(t, f.st, srv)
		for range 40 {
			if _, err := n.SendOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]int{}
		for _, m := range srv.Messages() {
			seen[m.To[0]]++
		}
		if seen["victim@example.com"] != store.MaxNoticesPerDay || seen["bystander@example.com"] != 1 {
			t.Fatalf("emails per address %v, want %d to victim@example.com and 1 to bystander@example.com", seen, store.MaxNoticesPerDay)
		}
	})
}

// TestForecastTextPrior: an email says when the rate is not the supply's
// own but that of the fleet's printers of its model.
func TestForecastTextPrior(t *testing.T) {
	f := forecast.Forecast{Known: true, Rate: 3.14, DaysToEmpty: 9.2, DaysLow: 7, DaysHigh: 12.4}
	if got := notify.ForecastText(&f); got != "about 9 days left (7–12), at 3.1 % a day" {
		t.Errorf("own rate: %q", got)
	}
	f.Prior = &forecast.Prior{RateLow: 2, Rate: 3.14, RateHigh: 5, Supplies: 7, SameModel: true}
	if got, want := notify.ForecastText(&f), "about 9 days left (7–12), at 3.1 % a day, the rate of 7 printers of the same model"; got != want {
		t.Errorf("fleet's rate: %q, want %q", got, want)
	}
}
