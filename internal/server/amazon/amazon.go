package amazon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Name is the fulfiller name recorded on orders.
const Name = "amazon-drs"

// Store is what the provider needs from internal/server/store; *store.Store
// implements it.
type Store interface {
	store.AmazonLinks
	LookupEnrollment(ctx context.Context, id string) (e arsapi.Enrollment, accountID string, err error)
	ActivateEnrollment(ctx context.Context, id string) error
	// GetAccount names the account on the sign-in confirmation page.
	GetAccount(ctx context.Context, id string) (arsapi.Account, error)
}

// Service is the Amazon provider: HTTP handlers for the sign-in, the DRS
// client, and the amazon-drs fulfiller. Create it with New.
type Service struct {
	cfg    Config
	st     Store
	log    *slog.Logger
	seal   *sealer
	flight singleflight.Group
}

var (
	_ fulfil.Fulfiller    = (*Service)(nil)
	_ fulfil.Deregisterer = (*Service)(nil)
)

// New returns the provider. It fails when cfg lacks a client ID, client
// secret, device model, public URL or a 32-byte key.
func New(st Store, log *slog.Logger, cfg Config) (*Service, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	sl, err := newSealer(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("amazon: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	slots := make(map[string]string, len(cfg.Slots))
	for k, v := range cfg.Slots {
		slots[strings.ToLower(strings.TrimSpace(k))] = v
	}
	cfg.Slots = slots
	return &Service{cfg: cfg, st: st, log: log.With("component", "amazon"), seal: sl}, nil
}

// Routes registers GET and POST /v1/amazon/start (the confirmation page
// and its Continue) and GET /v1/amazon/callback.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/amazon/start", s.handleStart)
	mux.HandleFunc("POST /v1/amazon/start", s.handleConfirm)
	mux.HandleFunc("GET /v1/amazon/callback", s.handleCallback)
}

// RedirectURI is the LWA redirect URI: arsd's callback. It must be listed
// among the security profile's allowed return URLs.
func (s *Service) RedirectURI() string { return s.cfg.PublicURL + "/v1/amazon/callback" }

// SignInURL returns the link that starts Login with Amazon for a pending
// amazon enrollment of accountID: arsd's /v1/amazon/start with a signed,
// single-use token, so that it works in a browser with no API credentials.
// SignInDeclined returns when the owner chose Cancel at the enrollment's
// latest Login with Amazon, or the zero time.
func (s *Service) SignInDeclined(ctx context.Context, enrollmentID string) (time.Time, error) {
	return s.st.AmazonSignInDeclined(ctx, enrollmentID)
}

// The API puts it in Enrollment.AmazonSignInURL.
func (s *Service) SignInURL(enrollmentID, accountID string) string {
	tok := s.seal.signStart(startClaims{EnrollmentID: enrollmentID, AccountID: accountID, Expires: s.cfg.Now().Add(s.cfg.StartLinkTTL)})
	q := url.Values{"enrollment": {enrollmentID}, "token": {tok}}
	return s.cfg.PublicURL + "/v1/amazon/start?" + q.Encode()
}

// Name implements fulfil.Fulfiller.
func (s *Service) Name() string { return Name }

// SlotFor returns the DRS slot ID configured for an order's supply,
// matching its name as the printer reports it (e.g. "PGBK", so that two
// black inks can have two slots), then, for a name that ends in a code in
// parentheses as Canon names its inks ("Black(PGBK)", "Black(BK)"), the
// code and the name before it ("black"), then its colour (the colorant
// name, e.g. "black", or "#RRGGBB" when the printer names none).
func (s *Service) SlotFor(o fulfil.Order) (string, bool) {
	keys := []string{o.Supply}
	if code := (printer.Supply{Name: o.Supply}).Code(); code != "" {
		keys = append(keys, code, o.Supply[:strings.LastIndexByte(o.Supply, '(')])
	}
	for _, k := range append(keys, o.Color) {
		if slot, ok := s.cfg.Slots[strings.ToLower(strings.TrimSpace(k))]; ok && k != "" {
			return slot, true
		}
	}
	return "", false
}

// Place implements fulfil.Fulfiller: POST /replenish/{slotId} ("Replenish
// Endpoint"). STANDARD_ORDER_PLACED and TEST_ORDER_PLACED give state
// "placed", ORDER_INPROGRESS "in_progress"; the eventInstanceId is the
// external ID. Calling it again for the same order is harmless: Amazon
// answers ORDER_INPROGRESS while the first order is out for delivery.
// A supply with no slot, an unlinked enrollment, an unknown slot and a
// revoked authorization are permanent failures; network errors and 5xx
// are retried by the dispatcher.
func (s *Service) Place(ctx context.Context, o fulfil.Order) (fulfil.Result, error) {
	slot, ok := s.SlotFor(o)
	if !ok {
		return fulfil.Result{}, fmt.Errorf("no Dash Replenishment slot configured for supply %q (colour %q): %w", o.Supply, o.Color, fulfil.ErrPermanent)
	}
	path := "/replenish/" + url.PathEscape(slot)
	resp, err := s.withToken(ctx, o.EnrollmentID, func(tok string) (drsResponse, error) {
		return s.drsCall(ctx, http.MethodPost, path, replenishInput, replenishResult, tok, nil)
	})
	if err != nil {
		return fulfil.Result{}, err
	}
	switch {
	case resp.Status == http.StatusOK || resp.Status == http.StatusAccepted:
	case resp.Status >= 500 || resp.Status == http.StatusTooManyRequests:
		return fulfil.Result{}, fmt.Errorf("dash replenishment replenish %s: HTTP %d", slot, resp.Status)
	default:
		return fulfil.Result{}, fmt.Errorf("dash replenishment refused replenish of slot %s: HTTP %d: %s: %w", slot, resp.Status, resp.message(), fulfil.ErrPermanent)
	}
	var r struct {
		EventInstanceID string `json:"eventInstanceId"`
		DetailCode      string `json:"detailCode"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil || r.DetailCode == "" {
		return fulfil.Result{}, fmt.Errorf("dash replenishment replenish %s: answer has no detailCode", slot)
	}
	res := fulfil.Result{State: string(arsapi.OrderPlaced), ExternalID: r.EventInstanceID, Detail: r.DetailCode}
	if r.DetailCode == DetailOrderInProgress {
		res.State = string(arsapi.OrderInProgress)
	}
	s.log.InfoContext(ctx, "dash replenishment order", "order", o.ID, "enrollment", o.EnrollmentID, "slot", slot, "detail", r.DetailCode)
	return res, nil
}

// Deregister implements fulfil.Deregisterer: DELETE /registration
// (version 2.0 of "Deregistration Endpoint"), then the stored tokens are
// deleted. An enrollment with no link (not amazon, or never signed in)
// needs nothing. When Amazon already considers the authorization revoked,
// the tokens are deleted all the same.
func (s *Service) Deregister(ctx context.Context, enrollmentID string) error {
	resp, err := s.withToken(ctx, enrollmentID, func(tok string) (drsResponse, error) {
		return s.drsCall(ctx, http.MethodDelete, "/registration", deregisterInput, deregisterResult, tok, nil)
	})
	switch {
	case errors.Is(err, ErrNotLinked):
		return nil
	case errors.Is(err, errRevoked):
		s.log.InfoContext(ctx, "amazon authorization already revoked; deleting tokens", "enrollment", enrollmentID)
	case err != nil:
		return err
	case resp.Status == http.StatusOK || resp.Status == http.StatusNoContent:
	default:
		return fmt.Errorf("dash replenishment deregistration: HTTP %d: %s", resp.Status, resp.message())
	}
	if err := s.st.DeleteAmazonLink(ctx, enrollmentID); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "dash replenishment registration deleted", "enrollment", enrollmentID)
	return nil
}

// ErrNotLinked means the enrollment has no Login with Amazon tokens: it is
// not an amazon plan, or its owner has not signed in with Amazon yet.
var ErrNotLinked = errors.New("not linked to Amazon")

// DeviceStatusInterval is the least time between two DeviceStatus reports
// of one device: the "DeviceStatus Endpoint" page asks for a daily cadence.
const DeviceStatusInterval = 24 * time.Hour

// ReportDeviceStatus tells DRS the device was active at `at` (POST
// /deviceStatus with mostRecentlyActiveDate, "DeviceStatus Endpoint"),
// at most once per DeviceStatusInterval per enrollment, counted over every
// replica: the call is claimed in the store first, so that concurrent
// reports (on any replica) make one call, and a failed call gives the
// claim back. Enrollments not linked to Amazon (canon plans, sign-in not
// completed) make no call. The API calls it after a level report of an
// amazon enrollment. It reports whether a call was made.
func (s *Service) ReportDeviceStatus(ctx context.Context, enrollmentID string, at time.Time) (bool, error) {
	now := s.cfg.Now()
	prev, ok, err := s.st.ReserveDeviceStatus(ctx, enrollmentID, now, now.Add(-DeviceStatusInterval))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case !ok:
		return false, nil
	}
	release := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.st.ReleaseDeviceStatus(rctx, enrollmentID, now, prev); err != nil {
			s.log.WarnContext(ctx, "device status claim not given back; next call after the interval", "enrollment", enrollmentID, "err", err)
		}
	}
	body := map[string]string{"mostRecentlyActiveDate": at.UTC().Format(time.RFC3339)}
	resp, err := s.withToken(ctx, enrollmentID, func(tok string) (drsResponse, error) {
		return s.drsCall(ctx, http.MethodPost, "/deviceStatus", deviceStatusInput, deviceStatusResult, tok, body)
	})
	switch {
	case errors.Is(err, ErrNotLinked):
		return false, nil // deregistered meanwhile: the claim went with the link
	case err != nil:
		release()
		return true, err
	case resp.Status != http.StatusOK:
		release()
		return true, fmt.Errorf("dash replenishment deviceStatus: HTTP %d: %s", resp.Status, resp.message())
	}
	return true, nil
}
