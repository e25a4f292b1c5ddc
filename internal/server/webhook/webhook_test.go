package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/fulfil"
)

var secret = []byte("0123456789abcdef-webhook-secret")

type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP endpoint that verifies deliveries with Verify
// and answers with the statuses queued in answers (then 200).
type receiver struct {
	mu      sync.Mutex
	got     []delivery
	answers []int
	verr    []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := Verify(secret, r.Header.Get(HeaderTimestamp), body, r.Header.Get(HeaderSignature), time.Minute)
	rc.mu.Lock()
	rc.got = append(rc.got, delivery{r.Header.Clone(), body})
	rc.verr = append(rc.verr, err)
	status := http.StatusOK
	if len(rc.answers) > 0 {
		status, rc.answers = rc.answers[0], rc.answers[1:]
	}
	rc.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	w.WriteHeader(status)
	if status == http.StatusOK {
		_, _ = w.Write([]byte(`{"external_id":"BO-42"}`))
	}
}

func testOrder() fulfil.Order {
	return fulfil.Order{ID: "ord-1", EnrollmentID: "enr-1", AccountID: "acc-1", Provider: "canon", PrinterModel: "TS8320",
		Serial: "SN1", Supply: "Cyan ink", SupplyType: "inkCartridge", Color: "#00FFFF", Level: 4,
		CreatedAt: time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)}
}

func TestPlaceDeliversSignedEvent(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f, err := New(Config{URL: srv.URL + "/hook", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Place(context.Background(), testOrder())
	if err != nil {
		t.Fatal(err)
	}
	if res.State != "placed" || res.ExternalID != "BO-42" {
		t.Errorf("result %+v", res)
	}
	if len(rc.got) != 1 || rc.verr[0] != nil {
		t.Fatalf("deliveries %d, verify %v", len(rc.got), rc.verr)
	}
	d := rc.got[0]
	if d.header.Get(HeaderEventID) != "ord-1" || !strings.HasPrefix(d.header.Get(HeaderSignature), "sha256=") {
		t.Errorf("headers %v", d.header)
	}
	var ev Event
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != "ord-1" || ev.Type != EventType || ev.Order.Color != "#00FFFF" || ev.Order.Level != 4 || ev.Order.Serial != "SN1" {
		t.Errorf("event %+v", ev)
	}
}

func TestRetriesKeepTheEventID(t *testing.T) {
	rc := &receiver{answers: []int{503, 500, 429}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f, _ := New(Config{URL: srv.URL, Secret: secret})
	for i := range 3 {
		_, err := f.Place(context.Background(), testOrder())
		if err == nil || errors.Is(err, fulfil.ErrPermanent) {
			t.Fatalf("attempt %d: err = %v, want retryable", i, err)
		}
	}
	if _, err := f.Place(context.Background(), testOrder()); err != nil {
		t.Fatal(err)
	}
	if len(rc.got) != 4 {
		t.Fatalf("%d deliveries", len(rc.got))
	}
	var first Event
	_ = json.Unmarshal(rc.got[0].body, &first)
	for _, d := range rc.got {
		var ev Event
		_ = json.Unmarshal(d.body, &ev)
		if d.header.Get(HeaderEventID) != "ord-1" || ev.ID != first.ID {
			t.Errorf("event ID changed across retries: %s %s", d.header.Get(HeaderEventID), ev.ID)
		}
	}
}

func TestClientErrorsArePermanent(t *testing.T) {
	for _, status := range []int{400, 404, 410, 422} {
		rc := &receiver{answers: []int{status}}
		srv := httptest.NewServer(rc)
		f, _ := New(Config{URL: srv.URL, Secret: secret})
		_, err := f.Place(context.Background(), testOrder())
		if !errors.Is(err, fulfil.ErrPermanent) {
			t.Errorf("HTTP %d: err = %v, want permanent", status, err)
		}
		srv.Close()
	}
	// A receiver that rejects the signature (wrong secret) is permanent too.
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f, _ := New(Config{URL: srv.URL, Secret: []byte("another-secret-of-16+")})
	if _, err := f.Place(context.Background(), testOrder()); !errors.Is(err, fulfil.ErrPermanent) {
		t.Errorf("bad signature: %v", err)
	}
	if !errors.Is(rc.verr[0], ErrBadSignature) {
		t.Errorf("receiver saw %v", rc.verr[0])
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	f, _ := New(Config{URL: url, Secret: secret})
	_, err := f.Place(context.Background(), testOrder())
	if err == nil || errors.Is(err, fulfil.ErrPermanent) {
		t.Errorf("err = %v, want retryable", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, c := range []Config{
		{URL: "", Secret: secret},
		{URL: "ftp://x", Secret: secret},
		{URL: "/relative", Secret: secret},
		{URL: "https://x", Secret: []byte("short")},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%q, %d-byte secret) accepted", c.URL, len(c.Secret))
		}
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"x"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := Sign(secret, now.Unix(), body)
	for _, tc := range []struct {
		name      string
		ts, sig   string
		body      []byte
		now       time.Time
		want      error
		tolerance time.Duration
	}{
		{"ok", ts, good, body, now, nil, 0},
		{"ok among several", ts, "sha256=" + strings.Repeat("00", 32) + ", " + good, body, now, nil, 0},
		{"body changed", ts, good, []byte(`{"id":"y"}`), now, ErrBadSignature, 0},
		{"timestamp changed", strconv.FormatInt(now.Unix()+1, 10), good, body, now, ErrBadSignature, 0},
		{"stale", ts, good, body, now.Add(6 * time.Minute), ErrStale, 0},
		{"future", ts, good, body, now.Add(-6 * time.Minute), ErrStale, 0},
		{"within custom tolerance", ts, good, body, now.Add(9 * time.Minute), nil, 10 * time.Minute},
		{"no timestamp", "", good, body, now, ErrBadTimestamp, 0},
		{"signed timestamp", "+" + ts, good, body, now, ErrBadTimestamp, 0},
		{"no signature", ts, "", body, now, ErrBadHeader, 0},
		{"other scheme", ts, "sha1=abcd", body, now, ErrBadHeader, 0},
		{"short hex", ts, "sha256=abcd", body, now, ErrBadHeader, 0},
		{"not hex", ts, "sha256=" + strings.Repeat("zz", 32), body, now, ErrBadHeader, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyAt(tc.now, secret, tc.ts, tc.body, tc.sig, tc.tolerance)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add("sha256=" + strings.Repeat("ab", 32))
	f.Add("sha256=" + strings.Repeat("ab", 32) + ",sha256=" + strings.Repeat("cd", 32))
	f.Add("sha256=")
	f.Add("=,=,")
	f.Add("sha1=abc")
	f.Fuzz(func(t *testing.T, h string) {
		sigs, err := ParseSignature(h)
		if err != nil {
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("error %v does not wrap ErrBadHeader", err)
			}
			return
		}
		if len(sigs) == 0 {
			t.Fatal("no error and no signature")
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("signature of %d bytes", len(s))
			}
		}
		// Verify never panics on what the parser accepts.
		_ = verifyAt(time.Unix(0, 0), secret, "0", []byte(h), h, time.Minute)
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("1800000000", []byte(`{}`), "sha256="+strings.Repeat("0", 64))
	f.Add("", []byte{}, "")
	f.Add("99999999999999999999", []byte("x"), "sha256=")
	f.Fuzz(func(t *testing.T, ts string, body []byte, sig string) {
		err := verifyAt(time.Unix(1_800_000_000, 0), secret, ts, body, sig, time.Minute)
		if err == nil {
			// Only a correct MAC over exactly these bytes may pass.
			n, _ := strconv.ParseInt(ts, 10, 64)
			if !strings.Contains(sig, Sign(secret, n, body)[len("sha256="):]) {
				t.Fatalf("accepted a signature that is not ours: %q", sig)
			}
		}
	})
}

func BenchmarkPlace(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if Verify(secret, r.Header.Get(HeaderTimestamp), body, r.Header.Get(HeaderSignature), 0) != nil {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	f, _ := New(Config{URL: srv.URL, Secret: secret})
	o := testOrder()
	for b.Loop() {
		if _, err := f.Place(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}
