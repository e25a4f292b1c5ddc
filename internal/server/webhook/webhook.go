// Package webhook hands orders to any back office over HTTP: a JSON order
// event POSTed to a configured URL, signed with HMAC-SHA256.
//
// Two events are sent: order.placed hands an order over (the webhook is
// the fulfiller), order.scheduled tells of an order waiting out its hold
// window (with hold_until, the policy's reason and the supply's
// forecast), which the owner may still skip. Every delivery of one event
// carries the same event ID (the order ID for order.placed, the order ID
// and ":scheduled" for order.scheduled), so receivers deduplicate
// at-least-once deliveries by it. The headers are:
//
//	X-ARS-Event-ID:  the event ID
//	X-ARS-Timestamp: Unix seconds when this attempt was signed
//	X-ARS-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
//
// Receivers check a delivery with Verify. A 2xx answer is success; 5xx,
// 408, 429 and network failures are retried by the order dispatcher with
// backoff; any other 4xx is permanent.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/pkg/forecast"
)

// Name is the fulfiller name recorded on orders.
const Name = "webhook"

// Header names.
const (
	HeaderEventID   = "X-ARS-Event-ID"
	HeaderTimestamp = "X-ARS-Timestamp"
	HeaderSignature = "X-ARS-Signature"
)

// EventType is the type of the event that hands an order over.
const EventType = "order.placed"

// EventScheduled is the type of the event that tells of a scheduled order
// before its hold window ends (the owner may still skip it). Its event ID
// is the order ID followed by ":scheduled", so receivers deduplicating by
// event ID keep it apart from the order's order.placed.
const EventScheduled = "order.scheduled"

// Config configures a Fulfiller.
type Config struct {
	// URL receives the events (http or https).
	URL string
	// Secret is the shared HMAC key; at least 16 bytes.
	Secret []byte
	// HTTPClient sends the events. Default: a client with a 15 s timeout.
	HTTPClient *http.Client
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Fulfiller is the "webhook" fulfil.Fulfiller.
type Fulfiller struct {
	cfg Config
}

var (
	_ fulfil.Fulfiller = (*Fulfiller)(nil)
	_ fulfil.Notifier  = (*Fulfiller)(nil)
)

// New returns a webhook fulfiller.
func New(cfg Config) (*Fulfiller, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: URL %q must be an absolute http or https URL", cfg.URL)
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("webhook: the signing secret must be at least 16 bytes")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Fulfiller{cfg: cfg}, nil
}

// Name implements fulfil.Fulfiller.
func (f *Fulfiller) Name() string { return Name }

// Event is the JSON body of a delivery.
type Event struct {
	// ID is stable across retries: the order ID.
	ID        string       `json:"id"`
	Type      string       `json:"type"`
	CreatedAt time.Time    `json:"created_at"`
	Order     fulfil.Order `json:"order"`
	// HoldUntil, Reason and Forecast are set on order.scheduled: when
	// the order is handed over unless skipped, why it was placed, and
	// the supply's forecast.
	HoldUntil *time.Time         `json:"hold_until,omitempty"`
	Reason    string             `json:"reason,omitempty"`
	Forecast  *forecast.Forecast `json:"forecast,omitempty"`
}

// EventFor builds the event of an order.
func EventFor(o fulfil.Order) Event {
	o.CreatedAt = o.CreatedAt.UTC()
	return Event{ID: o.ID, Type: EventType, CreatedAt: o.CreatedAt, Order: o}
}

// ScheduledEventFor builds the order.scheduled event of a notice.
func ScheduledEventFor(n fulfil.Notice) Event {
	ev := EventFor(n.Order)
	ev.ID, ev.Type, ev.Reason = n.Order.ID+":scheduled", EventScheduled, n.Reason
	hold := n.HoldUntil.UTC()
	ev.HoldUntil = &hold
	fc := n.Forecast
	ev.Forecast = &fc
	return ev
}

// Notify implements fulfil.Notifier: it POSTs the order.scheduled event
// of a scheduled order, signed like order.placed.
func (f *Fulfiller) Notify(ctx context.Context, n fulfil.Notice) error {
	_, _, err := f.post(ctx, ScheduledEventFor(n))
	return err
}

// Place implements fulfil.Fulfiller: it POSTs the order's event.
func (f *Fulfiller) Place(ctx context.Context, o fulfil.Order) (fulfil.Result, error) {
	status, ans, err := f.post(ctx, EventFor(o))
	if err != nil {
		return fulfil.Result{}, err
	}
	res := fulfil.Result{State: "placed", Detail: fmt.Sprintf("delivered to webhook (HTTP %d)", status)}
	// A receiver may name its own reference: {"id": "..."} or {"external_id": "..."}.
	var ref struct {
		ID         string `json:"id"`
		ExternalID string `json:"external_id"`
	}
	if json.Unmarshal(ans, &ref) == nil {
		res.ExternalID = ref.ExternalID
		if res.ExternalID == "" && ref.ID != o.ID {
			res.ExternalID = ref.ID
		}
		if len(res.ExternalID) > 200 {
			res.ExternalID = ""
		}
	}
	return res, nil
}

// post delivers one signed event and returns the receiver's status and
// answer (up to 64 KiB). 5xx, 408, 429 and network failures are errors to
// retry; other 4xx wrap fulfil.ErrPermanent.
func (f *Fulfiller) post(ctx context.Context, ev Event) (int, []byte, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, nil, fmt.Errorf("webhook: %w: %w", err, fulfil.ErrPermanent)
	}
	ts := f.cfg.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("webhook: %w: %w", err, fulfil.ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "arsd-webhook/1")
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set("Idempotency-Key", ev.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(f.cfg.Secret, ts, body))
	resp, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("webhook: deliver event %s: %w", ev.ID, err)
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, ans, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests:
		return 0, nil, fmt.Errorf("webhook: receiver answered HTTP %d", resp.StatusCode)
	default:
		return 0, nil, fmt.Errorf("webhook: receiver refused event %s: HTTP %d: %w", ev.ID, resp.StatusCode, fulfil.ErrPermanent)
	}
}

// Sign returns the X-ARS-Signature value of body sent at timestamp ts:
// "sha256=" and the hex HMAC-SHA256 of "<ts>.<body>".
func Sign(secret []byte, ts int64, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts, 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors returned by Verify.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrBadTimestamp = errors.New("webhook timestamp is missing or malformed")
	ErrStale        = errors.New("webhook timestamp is outside the tolerance")
	ErrBadHeader    = errors.New("webhook signature header is malformed")
)

// DefaultTolerance is the clock difference Verify accepts when given 0.
const DefaultTolerance = 5 * time.Minute

// Verify checks a delivery: timestamp is the X-ARS-Timestamp header,
// signature the X-ARS-Signature header, body the raw request body. The
// timestamp must be within tolerance of the receiver's clock (0 means
// DefaultTolerance), which limits replays; receivers should also drop
// event IDs they have already processed.
func Verify(secret []byte, timestamp string, body []byte, signature string, tolerance time.Duration) error {
	return verifyAt(time.Now(), secret, timestamp, body, signature, tolerance)
}

func verifyAt(now time.Time, secret []byte, timestamp string, body []byte, signature string, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts, err := parseTimestamp(timestamp)
	if err != nil {
		return err
	}
	sigs, err := ParseSignature(signature)
	if err != nil {
		return err
	}
	want := mac(secret, timestamp, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}

func parseTimestamp(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, ErrBadTimestamp
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, ErrBadTimestamp
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrBadTimestamp
	}
	return ts, nil
}

// ParseSignature parses an X-ARS-Signature header: one or more
// "sha256=<64 hex digits>" separated by commas (several appear while a
// secret is being rotated). It returns the raw MACs.
func ParseSignature(h string) ([][]byte, error) {
	if len(h) > 1024 {
		return nil, fmt.Errorf("%w: too long", ErrBadHeader)
	}
	var out [][]byte
	for part := range strings.SplitSeq(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		scheme, hexSig, ok := strings.Cut(part, "=")
		if !ok || scheme != "sha256" {
			return nil, fmt.Errorf("%w: want sha256=<hex>", ErrBadHeader)
		}
		if len(hexSig) != 64 {
			return nil, fmt.Errorf("%w: a sha256 signature has 64 hex digits", ErrBadHeader)
		}
		b, err := hex.DecodeString(hexSig)
		if err != nil {
			return nil, fmt.Errorf("%w: not hex", ErrBadHeader)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadHeader)
	}
	return out, nil
}
