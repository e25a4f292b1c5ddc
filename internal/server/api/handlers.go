package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/authn"
	"github.com/arsctl/arsctl/internal/server/jsonbody"
	"github.com/arsctl/arsctl/internal/server/password"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Input limits.
const (
	maxModelLen   = 128
	maxUUIDLen    = 64
	maxLabelLen   = 100
	maxSupplyName = 128
	maxListLimit  = 200
)

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
	if errors.Is(err, store.ErrNotFound) {
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
	body, p := jsonbody.Read(w, r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	var req arsapi.CreateAccountRequest
	if p := jsonbody.Decode(r, body, &req); p != nil {
		writeProblem(w, r, p)
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
		err := a.st.TakeAttempt(r.Context(), store.Limit{Key: signup, Max: a.opt.SignupsPerMinute, Window: time.Minute})
		var limited *store.LimitedError
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
		var inv *store.InvalidAccountError
		switch {
		case errors.As(err, &inv):
			writeProblem(w, r, problem(http.StatusUnprocessableEntity, arsapi.CodeInvalid, inv.Field+": "+inv.Reason))
			return
		case errors.Is(err, store.ErrEmailTaken):
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

// checkText applies the API's text rule (arsapi.CheckText, single line)
// to the field named field.
func checkText(field, s string, max int) *arsapi.Problem {
	if err := arsapi.CheckText(s, max, false); err != nil {
		return invalid(field + " " + err.Error())
	}
	return nil
}

// firstProblem is the first of ps that is not nil, or nil.
func firstProblem(ps ...*arsapi.Problem) *arsapi.Problem {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func invalid(detail string) *arsapi.Problem {
	return problem(http.StatusUnprocessableEntity, arsapi.CodeInvalid, detail)
}

func (a *API) checkEnrollment(req *arsapi.CreateEnrollmentRequest) *arsapi.Problem {
	switch req.Provider {
	case arsapi.ProviderAmazon:
		if a.opt.NoAmazon {
			return invalid(`this server does not offer provider "amazon" (it has no Amazon settings); choose "canon"`)
		}
	case arsapi.ProviderCanon:
	case "":
		return invalid(`provider is required: "canon" or "amazon"`)
	default:
		return invalid(fmt.Sprintf(`provider %q is not offered: choose "canon" or "amazon"`, req.Provider))
	}
	pr := &req.Printer
	pr.Model = strings.TrimSpace(pr.Model)
	pr.Serial = strings.TrimSpace(pr.Serial)
	pr.UUID = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(pr.UUID), "urn:uuid:"))
	if pr.Label == "" {
		pr.Label = pr.Nickname // the field's former name
	}
	pr.Label, pr.Nickname = strings.TrimSpace(pr.Label), ""
	switch {
	case pr.Model == "":
		return invalid("printer.model is required (the model the printer reports, e.g. \"TS8320 series\")")
	case pr.Serial == "":
		return invalid("printer.serial is required (arsctl discover shows it)")
	case printer.CheckSerial(pr.Serial) != nil:
		return invalid("printer.serial: " + printer.CheckSerial(pr.Serial).Error())
	}
	if p := firstProblem(checkText("printer.model", pr.Model, maxModelLen), checkText("printer.uuid", pr.UUID, maxUUIDLen),
		checkText("printer.label", pr.Label, maxLabelLen)); p != nil {
		return p
	}
	terms := a.cat.Terms()
	switch {
	case req.TermsVersion == "":
		return invalid("terms_version is required: read GET /v1/terms and send the version agreed to")
	case req.TermsVersion != terms.Version:
		p := problem(http.StatusUnprocessableEntity, arsapi.CodeTermsOutdated,
			fmt.Sprintf("the terms have changed: version %q was agreed but the current version is %q; read GET /v1/terms and agree again", req.TermsVersion, terms.Version))
		return p
	}
	return a.checkModel(pr)
}

// checkModel applies the catalogue's matching rule to the printer: model
// must be one eligible model (by name or alias, or a series that covers
// exactly one), and series, when given, must cover it. On success model is
// the canonical name, and series what the printer reports.
func (a *API) checkModel(pr *arsapi.Printer) *arsapi.Problem {
	pr.Series = strings.TrimSpace(pr.Series)
	if p := checkText("printer.series", pr.Series, maxModelLen); p != nil {
		return p
	}
	models := a.cat.Models()
	reported := pr.Series
	if reported == "" {
		reported = pr.Model
	}
	m := a.cat.Match(reported)
	if !m.Eligible() {
		p := problem(http.StatusUnprocessableEntity, arsapi.CodeIneligibleModel, m.Why(models, reported))
		if m.Kind != arsapi.MatchOtherMake {
			p.Detail += "; eligible models: " + strings.Join(a.cat.ModelNames(), ", ")
			p.Eligible = a.cat.ModelNames()
		}
		return p
	}
	name, ok := m.Covers(pr.Model)
	if u, one := m.Unique(); !ok && one && pr.Model == reported {
		name, ok = u.Name, true
	}
	if !ok {
		if pr.Model == reported {
			p := problem(http.StatusUnprocessableEntity, arsapi.CodeAmbiguousModel,
				fmt.Sprintf("the %s covers the %s: send printer.model as the one this printer is (arsctl register --model)", reported, strings.Join(m.Names(), " and the ")))
			p.Candidates = m.Names()
			return p
		}
		return invalid(fmt.Sprintf("a printer that reports %q is not a %s; it can be: %s", reported, pr.Model, strings.Join(m.Names(), ", ")))
	}
	if pr.Series == "" && m.Kind == arsapi.MatchSeries {
		pr.Series = pr.Model
	}
	pr.Model = name
	return nil
}

func (a *API) createEnrollment(w http.ResponseWriter, r *http.Request) {
	body, p := jsonbody.Read(w, r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	var req arsapi.CreateEnrollmentRequest
	if p := jsonbody.Decode(r, body, &req); p != nil {
		writeProblem(w, r, p)
		return
	}
	acct := account(r)
	a.idempotent(w, r, acct, body, func(w http.ResponseWriter) {
		if p := a.checkEnrollment(&req); p != nil {
			writeProblem(w, r, p)
			return
		}
		// The account's budget of refusals is checked before the store is
		// asked, and a refusal (the printer is another account's) is
		// counted: serial by serial, an account could otherwise learn
		// which printers are enrolled somewhere (a Canon serial is also
		// the printer's admin password). Enrollments that are not refused
		// take nothing from it, however many run at once.
		refusals := store.Limit{Key: "not-enrollable:" + acct, Max: a.opt.NotEnrollablePerHour, Window: time.Hour}
		err := a.st.CheckAttempt(r.Context(), refusals)
		var limited *store.LimitedError
		if errors.As(err, &limited) {
			w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
			writeProblem(w, r, problem(http.StatusTooManyRequests, arsapi.CodeRateLimited,
				"too many printers this account cannot enroll were tried in the last hour; try again later"))
			return
		}
		if err != nil {
			a.internal(w, r, "count the enrollment", err)
			return
		}
		e, err := a.st.CreateEnrollment(r.Context(), acct, req, a.cat.DefaultThreshold())
		var already *store.AlreadyEnrolledError
		if errors.As(err, &already) && !already.SameAccount {
			if terr := a.st.TakeAttempt(r.Context(), refusals); terr != nil && !errors.As(terr, &limited) {
				a.log.WarnContext(r.Context(), "api: count a refused enrollment", "err", terr)
			}
		}
		switch {
		case errors.As(err, &already) && already.SameAccount:
			p := problem(http.StatusConflict, arsapi.CodeAlreadyEnrolled, "this printer is already enrolled in your account as "+already.ID)
			p.EnrollmentID = already.ID
			writeProblem(w, r, p)
			return
		case errors.As(err, &already):
			// Nothing about the other enrollment or its account is told.
			a.log.WarnContext(r.Context(), "enrollment refused: the printer has a live enrollment in another account",
				"account", acct, "enrollment", already.ID)
			writeProblem(w, r, problem(http.StatusConflict, arsapi.CodeNotEnrollable, notEnrollable))
			return
		case storeInvalid(err) != nil:
			writeProblem(w, r, storeInvalid(err))
			return
		case err != nil:
			a.internal(w, r, "create the enrollment", err)
			return
		}
		if a.metrics != nil {
			a.metrics.EnrollmentsCreated.WithLabelValues(string(e.Provider)).Inc()
		}
		if req.Levels != nil {
			a.firstLevels(r, acct, &e, *req.Levels)
		}
		a.log.InfoContext(r.Context(), "enrollment created", "account", acct, "enrollment", e.ID, "provider", e.Provider, "model", e.Printer.Model)
		w.Header().Set("Location", "/v1/enrollments/"+url.PathEscape(e.ID))
		writeJSON(w, http.StatusCreated, a.decorate(e, account(r)))
	})
}

// decorate fills in what the store does not know: where to sign in with
// Amazon for a pending amazon enrollment.
func (a *API) decorate(e arsapi.Enrollment, accountID string) arsapi.Enrollment {
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
	var f store.ListFilter
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
		list.Items[i] = a.decorate(list.Items[i], account(r))
	}
	writeJSON(w, http.StatusOK, list)
}

// cursorProblem maps the store's refusal of a malformed cursor.
func (a *API) cursorProblem(err error) *arsapi.Problem {
	if errors.Is(err, store.ErrInvalid) {
		return problem(http.StatusBadRequest, arsapi.CodeInvalid, "cursor is not one this server handed out; start again without it")
	}
	return nil
}

// storeInvalid maps the store's refusal of input the API let through; its
// message is safe to show.
func storeInvalid(err error) *arsapi.Problem {
	if errors.Is(err, store.ErrInvalid) {
		return invalid(err.Error())
	}
	return nil
}

func notFound(id string) *arsapi.Problem {
	return problem(http.StatusNotFound, arsapi.CodeNotFound, fmt.Sprintf("no enrollment %q in your account", id))
}

func (a *API) getEnrollment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, err := a.st.GetEnrollment(r.Context(), account(r), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, r, notFound(id))
	case err != nil:
		a.internal(w, r, "read the enrollment", err)
	default:
		writeJSON(w, http.StatusOK, a.decorate(e, account(r)))
	}
}

func (a *API) cancelEnrollment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, p := jsonbody.Read(w, r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	var req arsapi.CancelRequest
	if p := jsonbody.Decode(r, body, &req); p != nil {
		writeProblem(w, r, p)
		return
	}
	acct := account(r)
	a.idempotent(w, r, acct, body, func(w http.ResponseWriter) {
		if p := a.checkCancel(&req); p != nil {
			writeProblem(w, r, p)
			return
		}
		e, err := a.st.CancelEnrollment(r.Context(), acct, id, req)
		switch {
		case errors.Is(err, store.ErrNotFound):
			writeProblem(w, r, notFound(id))
			return
		case errors.Is(err, store.ErrNotActive):
			writeProblem(w, r, problem(http.StatusConflict, arsapi.CodeNotActive, "enrollment "+id+" is already cancelled"))
			return
		case storeInvalid(err) != nil:
			writeProblem(w, r, storeInvalid(err))
			return
		case err != nil:
			a.internal(w, r, "cancel the enrollment", err)
			return
		}
		if a.metrics != nil {
			for _, reason := range req.Reasons {
				a.metrics.Cancellations.WithLabelValues(reason).Inc()
			}
		}
		a.log.InfoContext(r.Context(), "enrollment cancelled", "account", acct, "enrollment", e.ID, "reasons", strings.Join(req.Reasons, ","))
		if e.Provider == arsapi.ProviderAmazon && a.opt.Deregisterer != nil {
			a.deregister(r.Context(), e.ID)
		}
		writeJSON(w, http.StatusOK, e)
	})
}

// deregister tells Amazon that the device left the service. The
// cancellation stands whatever happens: a failure is logged.
func (a *API) deregister(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deregisterTimeout)
	defer cancel()
	if err := a.opt.Deregisterer.Deregister(ctx, id); err != nil {
		a.log.WarnContext(ctx, "amazon deregistration failed", "enrollment", id, "err", err)
	}
}

func (a *API) checkCancel(req *arsapi.CancelRequest) *arsapi.Problem {
	ids := a.cat.ReasonIDs()
	if len(req.Reasons) == 0 {
		p := problem(http.StatusUnprocessableEntity, arsapi.CodeNoReason,
			"give at least one reason for cancelling; valid reasons: "+strings.Join(ids, ", "))
		p.Reasons = ids
		return p
	}
	// The store checks the comment's text (the rule the web page meets too).
	req.Comment = strings.TrimSpace(req.Comment)
	var uniq []string
	needsComment := ""
	for _, id := range req.Reasons {
		reason, ok := a.cat.Reason(id)
		if !ok {
			p := problem(http.StatusUnprocessableEntity, arsapi.CodeUnknownReason,
				fmt.Sprintf("%q is not a cancel reason; valid reasons: %s", id, strings.Join(ids, ", ")))
			p.Reasons = ids
			return p
		}
		if reason.TakesComment {
			needsComment = id
		}
		if !slices.Contains(uniq, id) {
			uniq = append(uniq, id)
		}
	}
	if needsComment != "" && req.Comment == "" {
		return invalid(fmt.Sprintf("reason %q needs a comment saying what it is", needsComment))
	}
	req.Reasons = uniq
	return nil
}

func checkReport(rep *arsapi.LevelReport, now time.Time) *arsapi.Problem {
	if rep.ReadAt.IsZero() {
		rep.ReadAt = now
	}
	rep.ReadAt = rep.ReadAt.UTC()
	if from, to := now.Add(-arsapi.MaxReadAtAge), now.Add(arsapi.MaxReadAtAhead); rep.ReadAt.Before(from) || rep.ReadAt.After(to) {
		return invalid(fmt.Sprintf("read_at %s is outside the accepted window, %s to %s (%d days back to %s ahead): send the time the levels were read, or leave it out for now",
			rep.ReadAt.Format(time.RFC3339), from.Format(time.RFC3339), to.Format(time.RFC3339),
			int(arsapi.MaxReadAtAge.Hours()/24), arsapi.MaxReadAtAhead))
	}
	if len(rep.Supplies) == 0 {
		return invalid("supplies is empty: report every supply of the printer")
	}
	if len(rep.Supplies) > store.MaxSupplies {
		return invalid(fmt.Sprintf("a report has at most %d supplies", store.MaxSupplies))
	}
	seen := make(map[string]bool, len(rep.Supplies))
	for i, s := range rep.Supplies {
		field := fmt.Sprintf("supplies[%d]", i)
		if strings.TrimSpace(s.Name) == "" {
			return invalid(field + ".name is required")
		}
		if p := firstProblem(checkText(field+".name", s.Name, maxSupplyName),
			checkText(field+".type", s.Type, 64), checkText(field+".color_name", s.ColorName, 64)); p != nil {
			return p
		}
		switch {
		case seen[s.Name]:
			return invalid(fmt.Sprintf("%s: supply %q is listed twice", field, s.Name))
		case s.Level < printer.LevelSomeRemaining || s.Level > 100:
			return invalid(fmt.Sprintf("%s.level %d must be 0-100 or -1 (other), -2 (unknown), -3 (some remaining)", field, s.Level))
		case s.Low < 0 || s.Low > 100 || s.High < 0 || s.High > 100:
			return invalid(field + ": low and high must be 0-100")
		case len(s.Colors) > 16:
			return invalid(field + ": at most 16 colors")
		case s.Class != "" && s.Class != printer.ClassConsumed && s.Class != printer.ClassReceptacle:
			return invalid(fmt.Sprintf("%s.class must be %s or %s", field, printer.ClassConsumed, printer.ClassReceptacle))
		}
		for _, c := range s.Colors {
			if checkText("", c, 16) != nil {
				return invalid(field + `: colors must be like "#00FFFF"`)
			}
		}
		seen[s.Name] = true
	}
	return nil
}

func (a *API) reportLevels(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, p := jsonbody.Read(w, r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	var rep arsapi.LevelReport
	if p := jsonbody.Decode(r, body, &rep); p != nil {
		writeProblem(w, r, p)
		return
	}
	acct := account(r)
	a.idempotent(w, r, acct, body, func(w http.ResponseWriter) {
		if p := checkReport(&rep, time.Now().UTC()); p != nil {
			writeProblem(w, r, p)
			return
		}
		res, err := a.st.ReportLevels(r.Context(), acct, id, rep)
		switch {
		case errors.Is(err, store.ErrNotFound):
			writeProblem(w, r, notFound(id))
			return
		case errors.Is(err, store.ErrNotActive):
			writeProblem(w, r, problem(http.StatusConflict, arsapi.CodeNotActive,
				"enrollment "+id+" is cancelled; levels are no longer taken"))
			return
		case storeInvalid(err) != nil:
			writeProblem(w, r, storeInvalid(err))
			return
		case err != nil:
			a.internal(w, r, "store the level report", err)
			return
		}
		if res.Orders == nil {
			res.Orders = []arsapi.Order{}
		}
		a.levelsReported(r, id, rep, res)
		writeJSON(w, http.StatusOK, res)
	})
}

// levelsReported counts, logs and announces a stored level report.
func (a *API) levelsReported(r *http.Request, id string, rep arsapi.LevelReport, res arsapi.LevelReportResult) {
	if a.metrics != nil {
		a.metrics.LevelReports.Inc()
		a.metrics.OrdersPlaced.Add(float64(len(res.Orders)))
	}
	for _, o := range res.Orders {
		a.log.InfoContext(r.Context(), "order placed", "enrollment", id, "order", o.ID, "supply", o.Supply, "level", o.LevelAtOrder)
	}
	if a.opt.LevelsReported != nil {
		a.opt.LevelsReported(id, rep.ReadAt)
	}
}

// firstLevels stores the levels sent with a new enrollment as its first
// level report, and shows them in e. Levels that are not a valid report
// are left out (logged): the enrollment stands, and the monitor's first
// report brings them.
func (a *API) firstLevels(r *http.Request, acct string, e *arsapi.Enrollment, rep arsapi.LevelReport) {
	if p := checkReport(&rep, time.Now().UTC()); p != nil {
		a.log.InfoContext(r.Context(), "enrollment levels left out", "enrollment", e.ID, "why", p.Detail)
		return
	}
	res, err := a.st.ReportLevels(r.Context(), acct, e.ID, rep)
	if err != nil {
		a.log.WarnContext(r.Context(), "store an enrollment's first levels", "enrollment", e.ID, "err", err)
		return
	}
	a.levelsReported(r, e.ID, rep, res)
	if got, err := a.st.GetEnrollment(r.Context(), acct, e.ID); err == nil {
		*e = got
	}
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
	case errors.Is(err, store.ErrNotFound):
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
		since = t
	}
	h, err := a.st.LevelHistory(r.Context(), account(r), id, since)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, r, notFound(id))
	case err != nil:
		a.internal(w, r, "read the level history", err)
	default:
		writeJSON(w, http.StatusOK, h)
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
		o, err := a.st.MarkOrderBought(r.Context(), acct, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			writeProblem(w, r, problem(http.StatusNotFound, arsapi.CodeNotFound, fmt.Sprintf("no order %q in your account", id)))
		case errors.Is(err, store.ErrOrderNotOpen):
			writeProblem(w, r, problem(http.StatusConflict, arsapi.CodeOrderNotOpen, err.Error()))
		case err != nil:
			a.internal(w, r, "mark the order bought", err)
		default:
			a.log.InfoContext(r.Context(), "order marked bought", "account", acct, "order", id)
			writeJSON(w, http.StatusOK, o)
		}
	})
}
