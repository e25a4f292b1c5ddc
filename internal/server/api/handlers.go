package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/authn"
	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/jsonbody"
	"github.com/arsctl/arsctl/internal/server/password"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// maxListLimit is the largest page a list returns.
const maxListLimit = 200

func (a *API) getTerms(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.cat.Terms())
}

func (a *API) getModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, arsapi.List[arsapi.Model]{Items: a.cat.Models()})
}

func (a *API) getCancelReasons(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, arsapi.List[arsapi.CancelReason]{Items: a.cat.CancelReasons()})
}

func (a *API) getAccount(w http.ResponseWriter, r *http.Request) {
	acct, err := a.st.GetAccount(r.Context(), account(r))
	if errors.Is(err, core.ErrNotFound) {
		// The token names an account that no longer exists.
		writeProblem(w, r, problem(http.StatusUnauthorized, arsapi.CodeUnauthenticated, "the account of this access token no longer exists"))
		return
	}
	if err != nil {
		a.internal(w, r, "read the account", err)
		return
	}
	writeJSON(w, http.StatusOK, acct)
}

func (a *API) createAccount(w http.ResponseWriter, r *http.Request) {
	addr := authn.ClientAddr(r, a.opt.TrustProxy)
	var req arsapi.CreateAccountRequest
	body, ok := readJSON(w, r, &req)
	if !ok {
		return
	}
	// The idempotency record holds the answer (the account), never the
	// request; its hash covers the password, which is fine.
	// Before there is an account, the client is its address: a key is
	// the sign-up's own only from where it was sent, so two clients that
	// happen to use one key each get their own account.
	a.idempotent(w, r, signupScope+addr, body, func(w http.ResponseWriter) {
		// The sign-up is counted before the account is made, in one atomic
		// step, and given back when none is made.
		signup := "signup-api:" + addr
		err := a.st.TakeAttempt(r.Context(), core.Limit{Key: signup, Max: a.opt.SignupsPerMinute, Window: time.Minute})
		var limited *core.LimitedError
		if errors.As(err, &limited) {
			w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
			writeProblem(w, r, problem(http.StatusTooManyRequests, arsapi.CodeRateLimited, "too many sign-ups from this address; try again later"))
			return
		}
		if err != nil {
			a.internal(w, r, "count the sign-up", err)
			return
		}
		acct, err := a.st.CreateAccount(r.Context(), req.Email, req.Password, req.Name)
		if err != nil {
			if rerr := a.st.ReturnAttempt(r.Context(), signup); rerr != nil {
				a.log.WarnContext(r.Context(), "api: return sign-up", "err", rerr)
			}
		}
		var inv *core.InvalidAccountError
		switch {
		case errors.As(err, &inv):
			writeProblem(w, r, problem(http.StatusUnprocessableEntity, arsapi.CodeInvalid, inv.Field+": "+inv.Reason))
			return
		case errors.Is(err, core.ErrEmailTaken):
			writeProblem(w, r, problem(http.StatusConflict, arsapi.CodeEmailTaken, "an account with this email already exists; sign in instead"))
			return
		case errors.Is(err, password.ErrBusy):
			w.Header().Set("Retry-After", "2")
			writeProblem(w, r, problem(http.StatusServiceUnavailable, arsapi.CodeRateLimited, "too many passwords are being checked at once; try again in a few seconds"))
			return
		case err != nil:
			a.internal(w, r, "create the account", err)
			return
		}
		a.log.InfoContext(r.Context(), "account created", "account", acct.ID)
		w.Header().Set("Location", "/v1/account")
		writeJSON(w, http.StatusCreated, acct)
	})
}

// notEnrollable is the whole answer to an enrollment of a printer another
// account has enrolled: it does not say so, nor anything about that
// account, so that it tells no more than that this account cannot enroll
// this serial.
const notEnrollable = "this printer cannot be enrolled by this account; if it is your printer, see \"Someone else enrolled my printer\" in docs/security.md"

func invalid(detail string) *arsapi.Problem {
	return problem(http.StatusUnprocessableEntity, arsapi.CodeInvalid, detail)
}

func (a *API) createEnrollment(w http.ResponseWriter, r *http.Request) {
	var req arsapi.CreateEnrollmentRequest
	body, ok := readJSON(w, r, &req)
	if !ok {
		return
	}
	acct := account(r)
	a.idempotent(w, r, acct, body, func(w http.ResponseWriter) {
		e, err := a.core.Create(r.Context(), acct, req)
		var (
			refused *arsapi.Problem
			limited *core.LimitedError
			already *core.AlreadyEnrolledError
		)
		switch {
		case errors.As(err, &refused):
			writeProblem(w, r, refused)
			return
		case errors.As(err, &limited):
			w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
			writeProblem(w, r, problem(http.StatusTooManyRequests, arsapi.CodeRateLimited,
				"too many printers this account cannot enroll were tried in the last hour; try again later"))
			return
		case errors.As(err, &already) && already.SameAccount:
			p := problem(http.StatusConflict, arsapi.CodeAlreadyEnrolled, "this printer is already enrolled in your account as "+already.ID)
			p.EnrollmentID = already.ID
			writeProblem(w, r, p)
			return
		case errors.As(err, &already):
			// Nothing about the other enrollment or its account is told.
			writeProblem(w, r, problem(http.StatusConflict, arsapi.CodeNotEnrollable, notEnrollable))
			return
		case errors.Is(err, core.ErrTooManyEnrollments):
			writeProblem(w, r, problem(http.StatusConflict, arsapi.CodeTooManyEnrollments,
				err.Error()+"; cancel printers you no longer use (arsctl cancel) and try again in a day"))
			return
		case storeInvalid(err) != nil:
			writeProblem(w, r, storeInvalid(err))
			return
		case err != nil:
			a.internal(w, r, "create the enrollment", err)
			return
		}
		w.Header().Set("Location", "/v1/enrollments/"+url.PathEscape(e.ID))
		writeJSON(w, http.StatusCreated, a.decorate(r.Context(), e, account(r)))
	})
}

// decorate fills in what the enrollment does not hold: where to sign in
// with Amazon for a pending amazon enrollment, and whether the owner chose
// Cancel at the latest sign-in.
func (a *API) decorate(ctx context.Context, e arsapi.Enrollment, accountID string) arsapi.Enrollment {
	if e.Provider == arsapi.ProviderAmazon && e.State == arsapi.StatePending && a.opt.AmazonSignInDeclined != nil {
		if at, err := a.opt.AmazonSignInDeclined(ctx, e.ID); err != nil {
			a.log.WarnContext(ctx, "read amazon sign-in", "enrollment", e.ID, "err", err)
		} else if !at.IsZero() {
			e.AmazonSignInDeclinedAt = &at
		}
	}
	if e.Provider == arsapi.ProviderAmazon && e.State == arsapi.StatePending && e.AmazonSignInURL == "" {
		if a.opt.AmazonSignInURL != nil {
			e.AmazonSignInURL = a.opt.AmazonSignInURL(e.ID, accountID)
		} else {
			e.AmazonSignInURL = strings.TrimRight(a.opt.PublicURL, "/") + "/v1/amazon/start?enrollment=" + url.QueryEscape(e.ID)
		}
	}
	return e
}

// limitParam parses the limit query parameter (1..maxListLimit; 0 if absent).
func limitParam(q url.Values) (int, *arsapi.Problem) {
	s := q.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxListLimit {
		return 0, problem(http.StatusBadRequest, arsapi.CodeInvalid, fmt.Sprintf("limit must be an integer from 1 to %d", maxListLimit))
	}
	return n, nil
}

func (a *API) listEnrollments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f core.ListFilter
	switch st := arsapi.EnrollmentState(q.Get("state")); st {
	case "", arsapi.StatePending, arsapi.StateActive, arsapi.StatePaused, arsapi.StateCancelled:
		f.State = st
	default:
		writeProblem(w, r, problem(http.StatusBadRequest, arsapi.CodeInvalid,
			fmt.Sprintf("state %q is not one of pending, active, paused, cancelled", st)))
		return
	}
	f.Serial = strings.TrimSpace(q.Get("serial"))
	f.Cursor = q.Get("cursor")
	var p *arsapi.Problem
	if f.Limit, p = limitParam(q); p != nil {
		writeProblem(w, r, p)
		return
	}
	list, err := a.st.ListEnrollments(r.Context(), account(r), f)
	if err != nil {
		if p := a.cursorProblem(err); p != nil {
			writeProblem(w, r, p)
			return
		}
		a.internal(w, r, "list enrollments", err)
		return
	}
	if list.Items == nil {
		list.Items = []arsapi.Enrollment{}
	}
	for i := range list.Items {
		list.Items[i] = a.decorate(r.Context(), list.Items[i], account(r))
	}
	writeJSON(w, http.StatusOK, list)
}

// cursorProblem maps the store's refusal of a malformed cursor.
func (a *API) cursorProblem(err error) *arsapi.Problem {
	if errors.Is(err, core.ErrInvalid) {
		return problem(http.StatusBadRequest, arsapi.CodeInvalid, "cursor is not one this server handed out; start again without it")
	}
	return nil
}

// storeInvalid maps the store's refusal of input the API let through; its
// message is safe to show.
func storeInvalid(err error) *arsapi.Problem {
	if errors.Is(err, core.ErrInvalid) {
		return invalid(core.InvalidDetail(err))
	}
	return nil
}

// readJSON reads the request's JSON body into v. When the body is refused
// (too large, not JSON, unknown fields) it answers the problem itself and
// returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	body, p := jsonbody.Read(w, r)
	if p == nil {
		p = jsonbody.Decode(r, body, v)
	}
	if p != nil {
		writeProblem(w, r, p)
		return nil, false
	}
	return body, true
}

// enrollmentProblem is the answer to the core's refusal of an action on
// enrollment id: a problem it wrote, no such enrollment in the account,
// an enrollment no longer active (answered with notActive; "" when the
// action does not meet one), or input the store refused. It is nil for
// any other error, which is the server's own.
func enrollmentProblem(err error, id, notActive string) *arsapi.Problem {
	var refused *arsapi.Problem
	switch {
	case errors.As(err, &refused):
		return refused
	case errors.Is(err, core.ErrNotFound):
		return notFound(id)
	case notActive != "" && errors.Is(err, core.ErrNotActive):
		return problem(http.StatusConflict, arsapi.CodeNotActive, notActive)
	}
	return storeInvalid(err)
}

func notFound(id string) *arsapi.Problem {
	return problem(http.StatusNotFound, arsapi.CodeNotFound, fmt.Sprintf("no enrollment %q in your account", id))
}

func (a *API) getEnrollment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, err := a.st.GetEnrollment(r.Context(), account(r), id)
	switch {
	case errors.Is(err, core.ErrNotFound):
		writeProblem(w, r, notFound(id))
	case err != nil:
		a.internal(w, r, "read the enrollment", err)
	default:
		writeJSON(w, http.StatusOK, a.decorate(r.Context(), e, account(r)))
	}
}

func (a *API) cancelEnrollment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req arsapi.CancelRequest
	body, ok := readJSON(w, r, &req)
	if !ok {
		return
	}
	acct := account(r)
	a.idempotent(w, r, acct, body, func(w http.ResponseWriter) {
		e, err := a.core.Cancel(r.Context(), acct, id, req)
		if p := enrollmentProblem(err, id, "enrollment "+id+" is already cancelled"); p != nil {
			writeProblem(w, r, p)
			return
		}
		if err != nil {
			a.internal(w, r, "cancel the enrollment", err)
			return
		}
		writeJSON(w, http.StatusOK, e)
	})
}

func (a *API) reportLevels(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var rep arsapi.LevelReport
	body, ok := readJSON(w, r, &rep)
	if !ok {
		return
	}
	acct := account(r)
	a.idempotent(w, r, acct, body, func(w http.ResponseWriter) {
		res, err := a.core.ReportLevels(r.Context(), acct, id, rep)
		if p := enrollmentProblem(err, id, "enrollment "+id+" is cancelled; levels are no longer taken"); p != nil {
			writeProblem(w, r, p)
			return
		}
		if err != nil {
			a.internal(w, r, "store the level report", err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
}

func (a *API) listOrders(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	limit, p := limitParam(q)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	list, err := a.st.ListOrders(r.Context(), account(r), id, q.Get("cursor"), limit)
	switch {
	case errors.Is(err, core.ErrNotFound):
		writeProblem(w, r, notFound(id))
		return
	case err != nil:
		if p := a.cursorProblem(err); p != nil {
			writeProblem(w, r, p)
			return
		}
		a.internal(w, r, "list orders", err)
		return
	}
	if list.Items == nil {
		list.Items = []arsapi.Order{}
	}
	writeJSON(w, http.StatusOK, list)
}

// levelHistory answers the enrollment's level history since the time in
// ?since= (RFC 3339; default 30 days ago), with each supply's forecast.
func (a *API) levelHistory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	since := time.Now().Add(-30 * 24 * time.Hour)
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeProblem(w, r, problem(http.StatusBadRequest, arsapi.CodeInvalid, "since must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z"))
			return
		}
		// RFC 3339 parses years 0000-9999 in any zone; in UTC, as the answer
		// gives it back, one may fall outside them and could not be written.
		since = t.UTC()
		if first := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); since.Before(first) {
			since = first
		} else if last := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC); since.After(last) {
			since = last
		}
	}
	leave, ok := a.history.Enter(r.Context(), authn.HistoryKey)
	if !ok {
		if r.Context().Err() != nil {
			return
		}
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, problem(http.StatusServiceUnavailable, arsapi.CodeRateLimited,
			"too many level histories are being read at once; try again in a moment"))
		return
	}
	h, err := a.st.LevelHistory(r.Context(), account(r), id, since)
	var body []byte
	if err == nil {
		body, err = json.Marshal(h)
	}
	// The turn ends before the answer is sent: a client that does not
	// read it holds its own connection, not everyone's turn.
	leave()
	switch {
	case errors.Is(err, core.ErrNotFound):
		writeProblem(w, r, notFound(id))
	case err != nil:
		a.internal(w, r, "read the level history", err)
	default:
		// Nor does it hold the answer longer than a minute.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(append(body, '\n'))
	}
}

func (a *API) listAccountOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	st := arsapi.OrderState(q.Get("state"))
	if st != "" && !st.Valid() {
		names := make([]string, len(arsapi.OrderStates))
		for i, s := range arsapi.OrderStates {
			names[i] = string(s)
		}
		writeProblem(w, r, problem(http.StatusBadRequest, arsapi.CodeInvalid,
			fmt.Sprintf("state %q is not one of %s", st, strings.Join(names, ", "))))
		return
	}
	limit, p := limitParam(q)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	list, err := a.st.ListAccountOrders(r.Context(), account(r), st, q.Get("cursor"), limit)
	if err != nil {
		if p := a.cursorProblem(err); p != nil {
			writeProblem(w, r, p)
			return
		}
		a.internal(w, r, "list orders", err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (a *API) markOrderBought(w http.ResponseWriter, r *http.Request) {
	a.orderAction(w, r, "mark the order bought", "order marked bought", a.st.MarkOrderBought)
}

func (a *API) skipOrder(w http.ResponseWriter, r *http.Request) {
	a.orderAction(w, r, "skip the order", "order skipped", a.st.SkipOrder)
}

func (a *API) shipOrder(w http.ResponseWriter, r *http.Request) {
	a.orderAction(w, r, "ship the order now", "order shipped now", a.st.ShipOrder)
}

// orderAction serves POST /v1/orders/{id}/<action>: an empty or {} body,
// the order in the answer, 409 order_not_open when its state does not
// allow the action.
func (a *API) orderAction(w http.ResponseWriter, r *http.Request, what, logMsg string,
	act func(ctx context.Context, accountID, orderID string) (arsapi.Order, error)) {
	id := r.PathValue("id")
	body, p := jsonbody.Read(w, r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var req struct{}
		if p := jsonbody.Decode(r, body, &req); p != nil {
			writeProblem(w, r, p)
			return
		}
	}
	acct := account(r)
	a.idempotent(w, r, acct, body, func(w http.ResponseWriter) {
		o, err := act(r.Context(), acct, id)
		switch {
		case errors.Is(err, core.ErrNotFound):
			writeProblem(w, r, problem(http.StatusNotFound, arsapi.CodeNotFound, fmt.Sprintf("no order %q in your account", id)))
		case errors.Is(err, core.ErrOrderNotOpen):
			writeProblem(w, r, problem(http.StatusConflict, arsapi.CodeOrderNotOpen, err.Error()))
		case err != nil:
			a.internal(w, r, what, err)
		default:
			a.log.InfoContext(r.Context(), logMsg, "account", acct, "order", id)
			writeJSON(w, http.StatusOK, o)
		}
	})
}

// getOrderSettings serves GET /v1/account/order-settings and
// GET /v1/enrollments/{id}/order-settings: the settings as set, "" and
// null where they inherit.
func (a *API) getOrderSettings(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	set, err := a.core.OrderSettings(r.Context(), account(r), id)
	switch {
	case errors.Is(err, core.ErrNotFound):
		writeProblem(w, r, notFound(id))
	case err != nil:
		a.internal(w, r, "read the order settings", err)
	default:
		writeJSON(w, http.StatusOK, set)
	}
}

// putOrderSettings serves PUT /v1/account/order-settings and
// PUT /v1/enrollments/{id}/order-settings.
func (a *API) putOrderSettings(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req arsapi.OrderSettings
	body, ok := readJSON(w, r, &req)
	if !ok {
		return
	}
	// A PUT sets both: a field left out would silently turn to "inherit".
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields["policy"] == nil || fields["hold_minutes"] == nil {
		writeProblem(w, r, problem(http.StatusBadRequest, arsapi.CodeInvalid,
			`send both policy and hold_minutes ("" and null inherit), e.g. {"policy":"threshold","hold_minutes":null}`))
		return
	}
	set, err := a.core.SetOrderSettings(r.Context(), account(r), id, req)
	switch p := enrollmentProblem(err, id, ""); {
	case p != nil:
		writeProblem(w, r, p)
	case err != nil:
		a.internal(w, r, "set the order settings", err)
	default:
		writeJSON(w, http.StatusOK, set)
	}
}
