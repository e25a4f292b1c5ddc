package arsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Client calls one ARS API v1 server. It is safe for concurrent use.
//
// Errors from the server are returned as *Problem; a server that does not
// answer at all yields *UnreachableError. Check both with errors.As.
type Client struct {
	base      *url.URL
	baseErr   error
	hc        *http.Client
	userAgent string
	retries   int
}

// DefaultRetries is how many times a Client retries a request that is
// safe to repeat, unless WithRetries says otherwise.
const DefaultRetries = 3

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc, for
// example one whose transport adds OAuth 2.0 access tokens
// (golang.org/x/oauth2's Config.Client). Without it http.DefaultClient is
// used and requests carry no credentials.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithRetries sets how many times a request that is safe to repeat is
// retried after a failure that another attempt may not meet: an answer
// lost (the connection reset, the answer cut off) or a 502, 503 or 504
// from a proxy or load balancer, as when one replica behind it stops.
// Requests safe to repeat are reads, level reports (ReportLevels) and
// writes sent with an idempotency key; others are sent once. Retries wait
// 250 ms, then twice as long each time (at most 2 s, with jitter), or as
// long as a Retry-After answer asks (at most 10 s). n = 0 sends every
// request once. The default is DefaultRetries.
func WithRetries(n int) Option {
	return func(c *Client) { c.retries = max(n, 0) }
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the server at baseURL, e.g. DefaultServer or
// "https://ars.example.com". A malformed baseURL makes every call fail
// with an error saying so.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{hc: http.DefaultClient, userAgent: "arsapi-go", retries: DefaultRetries}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	switch {
	case err != nil:
		c.baseErr = fmt.Errorf("server address %q: %w", baseURL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		c.baseErr = fmt.Errorf("server address %q must start with http:// or https://", baseURL)
	case u.Host == "":
		c.baseErr = fmt.Errorf("server address %q has no host", baseURL)
	default:
		c.base = u
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the server address the client calls.
func (c *Client) BaseURL() string {
	if c.base == nil {
		return ""
	}
	return c.base.String()
}

// UnreachableError is returned when no server answers at the client's
// address: the connection was refused, the host is unknown or did not
// answer. Programs usually tell the user how to start a server or pick
// another one.
type UnreachableError struct {
	// Server is the address that did not answer.
	Server string
	// Err is the underlying network error.
	Err error
}

// Error implements error.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("no arsd answering at %s (%s): start one with `arsd`, or choose a server with --server / ARS_SERVER",
		e.Server, shortNetErr(e.Err))
}

// Unwrap returns the network error.
func (e *UnreachableError) Unwrap() error { return e.Err }

func shortNetErr(err error) string {
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dns):
		return "unknown host " + dns.Name
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "no answer in time"
	}
	return err.Error()
}

// Unreachable returns an *UnreachableError for server when err, from an
// HTTP request to it, means that nothing answered there (connection
// refused, unknown host, no route), and nil otherwise: for a nil err, a
// request that was cancelled or timed out by its context, or one that
// failed after a server answered. Programs that call an ARS server without
// a Client use it to say so in the same words as the Client does.
func Unreachable(server string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	var op *net.OpError
	var dns *net.DNSError
	if (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED) {
		return &UnreachableError{Server: server, Err: err}
	}
	return nil
}

// maxResponse bounds the size of an answer the client reads.
const maxResponse = 8 << 20

// do sends a request and decodes a JSON answer into out (unless nil).
// idemKey, if not empty, is sent as Idempotency-Key. Reads and keyed
// writes are retried (see WithRetries).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any, idemKey string) error {
	return c.send(ctx, method, path, query, in, out, idemKey, method == http.MethodGet || idemKey != "")
}

// send is do with the choice of retrying made by the caller: repeatable
// says the request may be sent again when its answer was lost.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in, out any, idemKey string, repeatable bool) error {
	if c.baseErr != nil {
		return c.baseErr
	}
	// path is already escaped (url.PathEscape on IDs).
	u, err := url.Parse(c.base.String() + path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var body []byte
	if in != nil {
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
	}
	retries := 0
	if repeatable {
		retries = c.retries
	}
	for attempt := 0; ; attempt++ {
		resp, data, err := c.roundTrip(ctx, method, u, in != nil, body, idemKey)
		if attempt < retries {
			if wait, again := retryAfter(ctx, resp, err, attempt); again {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
					continue
				}
			}
		}
		if err != nil {
			return err
		}
		return c.decode(resp, data, method, u, out)
	}
}

// roundTrip sends one attempt and reads its answer.
func (c *Client) roundTrip(ctx context.Context, method string, u *url.URL, hasBody bool, body []byte, idemKey string) (*http.Response, []byte, error) {
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if u := Unreachable(c.base.String(), err); u != nil {
			return nil, nil, u
		}
		if ns := NotServer(c.base.String(), nil, nil, err); ns != nil {
			return nil, nil, ns
		}
		return nil, nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the answer: %w", method, u.Redacted(), err)
	}
	return resp, data, nil
}

// retryAfter says whether an attempt's outcome is worth another attempt,
// and after how long: an answer lost on the way (the connection reset or
// closed early), or a proxy's 502, 503 or 504. Nothing answering at all
// (an *UnreachableError: connection refused, unknown host) is reported at
// once, as are a cancelled or timed-out context.
func retryAfter(ctx context.Context, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, new(*UnreachableError)) {
			return 0, false
		}
		return backoff(attempt), true
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return 0, false
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		// Capped before it is multiplied: a huge value would wrap around
		// to a negative wait, and the retry would not wait at all.
		return time.Duration(min(s, 10)) * time.Second, true
	}
	return backoff(attempt), true
}

// backoff is the wait before retry number attempt+1: 250 ms doubled per
// attempt, at most 2 s, less a random part of up to half of it.
func backoff(attempt int) time.Duration {
	d := min(250*time.Millisecond<<min(attempt, 4), 2*time.Second)
	return d - rand.N(d/2)
}

// decode turns an answer into out, or into a *Problem.
func (c *Client) decode(resp *http.Response, data []byte, method string, u *url.URL, out any) error {
	if resp.StatusCode >= 300 || out != nil {
		if err := NotServer(c.base.String(), resp, data, nil); err != nil {
			return err
		}
	}
	if resp.StatusCode >= 300 {
		return problemFrom(resp, data, c.base.String())
	}
	if out == nil {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("%s %s: answered %s, not JSON; is %s an arsd server?", method, u.Redacted(), orNone(mt), c.base)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, u.Redacted(), err)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}

// problemFrom turns an error answer into a *Problem; answers that are not
// problem documents (a proxy's HTML page) become one with their status.
func problemFrom(resp *http.Response, data []byte, server string) *Problem {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var p Problem
		if err := json.Unmarshal(data, &p); err == nil && (p.Title != "" || p.Code != "") {
			if p.Status == 0 {
				p.Status = resp.StatusCode
			}
			if p.Title == "" {
				p.Title = http.StatusText(resp.StatusCode)
			}
			return &p
		}
	}
	p := &Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		p.Code = CodeUnauthenticated
	case http.StatusForbidden:
		p.Code = CodeForbidden
	case http.StatusNotFound:
		p.Code = CodeNotFound
		p.Detail = "not found; is " + server + " an arsd server?"
	case http.StatusTooManyRequests:
		p.Code = CodeRateLimited
	}
	if p.Detail == "" {
		text := strings.TrimSpace(string(data))
		if len(text) > 200 {
			text = text[:200] + "..."
		}
		if mt == "text/plain" && text != "" {
			p.Detail = text
		}
	}
	return p
}

// Terms returns the current terms (GET /v1/terms).
func (c *Client) Terms(ctx context.Context) (Terms, error) {
	var t Terms
	err := c.do(ctx, http.MethodGet, "/v1/terms", nil, nil, &t, "")
	return t, err
}

// Models returns the eligible printer models (GET /v1/models).
func (c *Client) Models(ctx context.Context) ([]Model, error) {
	var l List[Model]
	err := c.do(ctx, http.MethodGet, "/v1/models", nil, nil, &l, "")
	return l.Items, err
}

// CancelReasons returns the reasons an owner can give for cancelling
// (GET /v1/cancel-reasons).
func (c *Client) CancelReasons(ctx context.Context) ([]CancelReason, error) {
	var l List[CancelReason]
	err := c.do(ctx, http.MethodGet, "/v1/cancel-reasons", nil, nil, &l, "")
	return l.Items, err
}

// CreateAccount signs up a new account (POST /v1/accounts). A taken email
// answers a *Problem with code CodeEmailTaken.
func (c *Client) CreateAccount(ctx context.Context, req CreateAccountRequest) (Account, error) {
	var a Account
	err := c.do(ctx, http.MethodPost, "/v1/accounts", nil, req, &a, "")
	return a, err
}

// Account returns the signed-in account (GET /v1/account).
func (c *Client) Account(ctx context.Context) (Account, error) {
	var a Account
	err := c.do(ctx, http.MethodGet, "/v1/account", nil, nil, &a, "")
	return a, err
}

// CreateEnrollment enrolls a printer (POST /v1/enrollments). Sending the
// same idempotencyKey again (e.g. after a timeout) returns the first
// answer instead of creating twice; "" sends none. A printer already
// enrolled in this account answers a *Problem with code
// CodeAlreadyEnrolled and its EnrollmentID set.
func (c *Client) CreateEnrollment(ctx context.Context, req CreateEnrollmentRequest, idempotencyKey string) (Enrollment, error) {
	var e Enrollment
	err := c.do(ctx, http.MethodPost, "/v1/enrollments", nil, req, &e, idempotencyKey)
	return e, err
}

// GetEnrollment reads one enrollment (GET /v1/enrollments/{id}).
func (c *Client) GetEnrollment(ctx context.Context, id string) (Enrollment, error) {
	var e Enrollment
	err := c.do(ctx, http.MethodGet, "/v1/enrollments/"+url.PathEscape(id), nil, nil, &e, "")
	return e, err
}

// ListOptions select and page a list of enrollments. Zero values select all.
type ListOptions struct {
	// State keeps only enrollments in this state.
	State EnrollmentState
	// Serial keeps only the enrollments of the printer with this serial.
	Serial string
	// Cursor continues a previous page (List.NextCursor).
	Cursor string
	// Limit is the page size (server default when 0, at most 200).
	Limit int
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.State != "" {
		q.Set("state", string(o.State))
	}
	if o.Serial != "" {
		q.Set("serial", o.Serial)
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// ListEnrollmentsPage returns one page of the account's enrollments
// (GET /v1/enrollments).
func (c *Client) ListEnrollmentsPage(ctx context.Context, opts ListOptions) (List[Enrollment], error) {
	var l List[Enrollment]
	err := c.do(ctx, http.MethodGet, "/v1/enrollments", opts.query(), nil, &l, "")
	return l, err
}

// Enrollments iterates over every enrollment matching opts, following
// cursors from page to page. Iteration stops at the first error, which is
// yielded with a zero Enrollment.
func (c *Client) Enrollments(ctx context.Context, opts ListOptions) iter.Seq2[Enrollment, error] {
	return pages(opts.Cursor, func(cursor string) (List[Enrollment], error) {
		o := opts
		o.Cursor = cursor
		return c.ListEnrollmentsPage(ctx, o)
	})
}

// FindEnrollments returns every enrollment matching opts, all pages.
func (c *Client) FindEnrollments(ctx context.Context, opts ListOptions) ([]Enrollment, error) {
	return collect(c.Enrollments(ctx, opts))
}

// ListEnrollments returns every enrollment of the account, all pages.
func (c *Client) ListEnrollments(ctx context.Context) ([]Enrollment, error) {
	return c.FindEnrollments(ctx, ListOptions{})
}

// CancelEnrollment cancels an enrollment with at least one reason from
// CancelReasons (POST /v1/enrollments/{id}/cancel). With no reason the
// server answers a *Problem with code CodeNoReason listing the valid IDs.
func (c *Client) CancelEnrollment(ctx context.Context, id string, req CancelRequest, idempotencyKey string) (Enrollment, error) {
	var e Enrollment
	err := c.do(ctx, http.MethodPost, "/v1/enrollments/"+url.PathEscape(id)+"/cancel", nil, req, &e, idempotencyKey)
	return e, err
}

// ReportLevels reports every supply level of an enrolled printer
// (POST /v1/enrollments/{id}/levels) and returns the orders the report
// placed, if any. Reports may be repeated safely, and are retried (see
// WithRetries): a report the server took already changes nothing the
// second time, so its orders are then in ListOrders, not in the answer.
// Give reports a ReadAt, so that a retry is the same report.
func (c *Client) ReportLevels(ctx context.Context, id string, report LevelReport) (LevelReportResult, error) {
	var r LevelReportResult
	err := c.send(ctx, http.MethodPost, "/v1/enrollments/"+url.PathEscape(id)+"/levels", nil, report, &r, "", true)
	return r, err
}

// LevelHistory returns an enrollment's level changes read at or after
// since, per supply, with each supply's forecast
// (GET /v1/enrollments/{id}/levels); a zero since asks for the server's
// default (30 days).
func (c *Client) LevelHistory(ctx context.Context, id string, since time.Time) (LevelHistory, error) {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339))
	}
	var h LevelHistory
	err := c.do(ctx, http.MethodGet, "/v1/enrollments/"+url.PathEscape(id)+"/levels", q, nil, &h, "")
	return h, err
}

// ListOrdersPage returns one page of an enrollment's orders, newest first
// (GET /v1/enrollments/{id}/orders); cursor "" starts at the first page,
// limit 0 uses the server's default page size.
func (c *Client) ListOrdersPage(ctx context.Context, id, cursor string, limit int) (List[Order], error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var l List[Order]
	err := c.do(ctx, http.MethodGet, "/v1/enrollments/"+url.PathEscape(id)+"/orders", q, nil, &l, "")
	return l, err
}

// ListOrders returns every order of an enrollment, newest first, all pages.
func (c *Client) ListOrders(ctx context.Context, id string) ([]Order, error) {
	return collect(pages("", func(cursor string) (List[Order], error) {
		return c.ListOrdersPage(ctx, id, cursor, 0)
	}))
}

// AccountOrdersPage returns one page of the account's orders across its
// enrollments, newest first (GET /v1/orders); state "" lists every state.
func (c *Client) AccountOrdersPage(ctx context.Context, state OrderState, cursor string, limit int) (List[Order], error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", string(state))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var l List[Order]
	err := c.do(ctx, http.MethodGet, "/v1/orders", q, nil, &l, "")
	return l, err
}

// AccountOrders returns the account's orders in state ("" for all),
// newest first, all pages.
func (c *Client) AccountOrders(ctx context.Context, state OrderState) ([]Order, error) {
	return collect(pages("", func(cursor string) (List[Order], error) {
		return c.AccountOrdersPage(ctx, state, cursor, 0)
	}))
}

// MarkOrderBought records that the owner bought the ink of an unfulfilled
// order (POST /v1/orders/{id}/bought) and returns the order. Marking an
// order already bought returns it unchanged; any other state answers a
// *Problem with code CodeOrderNotOpen.
func (c *Client) MarkOrderBought(ctx context.Context, id string) (Order, error) {
	var o Order
	err := c.do(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(id)+"/bought", nil, struct{}{}, &o, "")
	return o, err
}

// SkipOrder skips a scheduled order (POST /v1/orders/{id}/skip): it is
// never handed over and its supply orders again when low. Skipping an
// order already skipped returns it unchanged; any state but scheduled
// answers a *Problem with code CodeOrderNotOpen.
func (c *Client) SkipOrder(ctx context.Context, id string) (Order, error) {
	var o Order
	err := c.do(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(id)+"/skip", nil, struct{}{}, &o, "")
	return o, err
}

// ShipOrder ends a scheduled order's hold window now (POST
// /v1/orders/{id}/ship): it is handed over at once. Any state but
// scheduled answers a *Problem with code CodeOrderNotOpen.
func (c *Client) ShipOrder(ctx context.Context, id string) (Order, error) {
	var o Order
	err := c.do(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(id)+"/ship", nil, struct{}{}, &o, "")
	return o, err
}

// orderSettingsPath is the order settings of the account (enrollmentID
// "") or of an enrollment.
func orderSettingsPath(enrollmentID string) string {
	if enrollmentID == "" {
		return "/v1/account/order-settings"
	}
	return "/v1/enrollments/" + url.PathEscape(enrollmentID) + "/order-settings"
}

// OrderSettings returns the order policy and hold window of the account
// (enrollmentID "") or of one enrollment, as set ("" and nil inherit).
func (c *Client) OrderSettings(ctx context.Context, enrollmentID string) (OrderSettings, error) {
	var set OrderSettings
	err := c.do(ctx, http.MethodGet, orderSettingsPath(enrollmentID), nil, nil, &set, "")
	return set, err
}

// SetOrderSettings sets the order policy and hold window of the account
// (enrollmentID "") or of one enrollment.
func (c *Client) SetOrderSettings(ctx context.Context, enrollmentID string, set OrderSettings) (OrderSettings, error) {
	var out OrderSettings
	err := c.send(ctx, http.MethodPut, orderSettingsPath(enrollmentID), nil, set, &out, "", true)
	return out, err
}

// pages yields the items of a paged list from the page at cursor on,
// following NextCursor until it is empty or comes back unchanged.
func pages[T any](cursor string, fetch func(cursor string) (List[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			page, err := fetch(cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range page.Items {
				if !yield(v, nil) {
					return
				}
			}
			if page.NextCursor == "" || page.NextCursor == cursor {
				return
			}
			cursor = page.NextCursor
		}
	}
}

// collect gathers a sequence into a slice (empty, not nil, when there is
// nothing), stopping at the first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	out := []T{}
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
