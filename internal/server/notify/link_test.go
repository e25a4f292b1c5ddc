package notify_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/notify"
)

func TestLinkSignAndVerify(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sg, err := notify.NewSigner([]byte(strings.Repeat("a", 32)), clock)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := notify.NewSigner([]byte(strings.Repeat("b", 32)), clock)
	exp := now.Add(24 * time.Hour)
	tok, err := sg.Sign("acct-a", "order-1", notify.ActionSkip, exp)
	if err != nil {
		t.Fatal(err)
	}
	l, err := notify.ParseLink(tok)
	if err != nil {
		t.Fatal(err)
	}
	if l.OrderID != "order-1" || l.Action != notify.ActionSkip || !l.Expires.Equal(exp) {
		t.Fatalf("parsed %+v", l)
	}
	if err := sg.Verify(l, "acct-a"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	tok2, _ := sg.Sign("acct-a", "order-1", notify.ActionSkip, exp)
	if l2, _ := notify.ParseLink(tok2); l2.ID() == l.ID() {
		t.Error("two links share a single-use ID")
	}

	// Cross-account: the link of account A's order checked as account B's.
	if err := sg.Verify(l, "acct-b"); !errors.Is(err, notify.ErrBadLink) {
		t.Errorf("link checked against another account: %v, want ErrBadLink", err)
	}
	// Another key.
	if err := other.Verify(l, "acct-a"); !errors.Is(err, notify.ErrBadLink) {
		t.Errorf("link of another key: %v", err)
	}
	// Forged: every single bit flipped in turn, and the action, order and
	// expiry rewritten.
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range len(raw) * 8 {
		b := append([]byte(nil), raw...)
		b[i/8] ^= 1 << (i % 8)
		fl, err := notify.ParseLink(base64.RawURLEncoding.EncodeToString(b))
		if err != nil {
			continue
		}
		if err := sg.Verify(fl, "acct-a"); err == nil {
			t.Fatalf("a link with bit %d flipped verifies", i)
		}
	}
	ship := append([]byte(nil), raw...)
	ship[1] = byte(notify.ActionShip)
	if fl, err := notify.ParseLink(base64.RawURLEncoding.EncodeToString(ship)); err != nil || sg.Verify(fl, "acct-a") == nil {
		t.Errorf("a skip link turned into a ship link verifies (parse err %v)", err)
	}
	swapped := append(append([]byte(nil), raw[:len(raw)-16-len("order-1")]...), []byte("order-2")...)
	swapped = append(swapped, raw[len(raw)-16:]...)
	if fl, err := notify.ParseLink(base64.RawURLEncoding.EncodeToString(swapped)); err != nil || sg.Verify(fl, "acct-a") == nil {
		t.Errorf("a link moved to another order verifies (parse err %v)", err)
	}
	// Expired: at the expiry and after.
	now = exp
	if err := sg.Verify(l, "acct-a"); !errors.Is(err, notify.ErrLinkExpired) {
		t.Errorf("at expiry: %v, want ErrLinkExpired", err)
	}
	// Junk.
	for _, junk := range []string{"", "x", "!!!!", strings.Repeat("A", 500), base64.RawURLEncoding.EncodeToString([]byte{1, 's'})} {
		if _, err := notify.ParseLink(junk); !errors.Is(err, notify.ErrBadLink) {
			t.Errorf("ParseLink(%q): %v", junk, err)
		}
	}
	if _, err := notify.ParseLink(tok + "A"); err == nil {
		if l, _ := notify.ParseLink(tok + "A"); sg.Verify(l, "acct-a") == nil {
			t.Error("a link with a byte added verifies")
		}
	}
	if _, err := notify.NewSigner([]byte("short"), nil); err == nil {
		t.Error("a short key was accepted")
	}
}

func FuzzParseLink(f *testing.F) {
	sg, _ := notify.NewSigner([]byte(strings.Repeat("a", 32)), nil)
	// Signed with this key for account "acct", ship, until 2100.
	const tok = "AXAAAAAA9IZXAJDoXrgm5hpc4rrCDxd8394wMTkwZjBhMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDBdA5faBAqkWANKpGSpCTdf"
	for _, s := range []string{tok, "", "AQ", "AXM" + strings.Repeat("A", 60), tok[:len(tok)-1]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := notify.ParseLink(s)
		if err != nil {
			return
		}
		if s != tok && sg.Verify(l, "acct") == nil {
			t.Fatalf("a token not signed verifies: %q", s)
		}
	})
}
