package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/notify/smtptest"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestOrderEmail runs a whole arsd with an SMTP server configured: an
// order placed by a level report is mailed to its owner, once, over
// STARTTLS with the password read from a file.
func TestOrderEmail(t *testing.T) {
	srv := smtptest.Start(t, "arsd", "mail-secret-42")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(pwFile, []byte("mail-secret-42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &servertest.LogBuffer{}
	cfg := Config{Listener: ln, Database: filepath.Join(dir, "arsd.db"), DataDir: dir,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Email: EmailConfig{SMTPHost: srv.Host, SMTPPort: srv.Port, SMTPUser: "arsd", SMTPPasswordFile: pwFile,
			From: "Ink <ink@ars.example>"}}
	cfg.SetEmailRoots(srv.RootCAs)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	st := s.Store()
	a, err := st.CreateAccount(ctx, "owner@example.com", "correct horse battery", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.CreateEnrollment(ctx, a.ID, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
		Printer: arsapi.Printer{Model: "TS8320", Serial: "KKMM1", Label: "Office"}, TermsVersion: "2024-01"}, 15)
	if err != nil {
		t.Fatal(err)
	}
	// Ten days of use at 2 % a day, then the report that orders.
	for d, lv := range []int{23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3} {
		if _, err := st.ReportLevels(ctx, a.ID, e.ID, arsapi.LevelReport{ReadAt: time.Now().UTC().Add(time.Duration(d-10) * 24 * time.Hour),
			Supplies: []printer.Supply{{Name: "Cyan", Type: "inkCartridge", ColorName: "cyan", Level: lv}}}); err != nil {
			t.Fatal(err)
		}
	}
	m := srv.Wait(t, 1, 2*time.Minute)[0]
	_, text, _, err := m.Bodies()
	if err != nil {
		t.Fatal(err)
	}
	if !m.TLS || m.User != "arsd" || m.To[0] != "owner@example.com" || !strings.Contains(text, s.URL()+"/subscriptions/printers/"+e.ID) ||
		!strings.Contains(text, "at 2.0 % a day") {
		t.Fatalf("received tls=%v user=%q to=%v:\n%s", m.TLS, m.User, m.To, m.Data)
	}
	// The email's skip link, followed in a browser-like client: the
	// confirm page, then its form, skips the scheduled order.
	skip := regexp.MustCompile(`Skip this order[^\n]*\n(\S+/l/\S+)`).FindStringSubmatch(text)
	if skip == nil {
		t.Fatalf("no skip link in:\n%s", text)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: time.Minute}
	res, err := hc.Get(skip[1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if res.StatusCode != http.StatusOK || csrf == nil {
		t.Fatalf("GET skip link: HTTP %d: %s", res.StatusCode, page)
	}
	res, err = hc.PostForm(skip[1], url.Values{"csrf_token": {string(csrf[1])}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST skip link: HTTP %d", res.StatusCode)
	}
	orders, err := st.ListOrders(ctx, a.ID, e.ID, "", 10)
	if err != nil || len(orders.Items) != 1 || orders.Items[0].State != arsapi.OrderSkipped {
		t.Fatalf("orders after the skip link: %+v, %v", orders.Items, err)
	}
	if strings.Contains(logs.String(), "mail-secret-42") || strings.Contains(logs.String(), strings.TrimPrefix(skip[1], s.URL()+"/l/")) {
		t.Error("the SMTP password or a link's token is in the logs")
	}
}
