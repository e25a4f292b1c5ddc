package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/reorder"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Store is the persistence the core works on; *store.Store implements it.
type Store interface {
	Enrollments
	Orders
	Limits
}

// Catalogue is what the rules read of the catalogue of terms, eligible
// models and cancel reasons; *catalogue.Catalogue implements it.
type Catalogue interface {
	Terms() arsapi.Terms
	Models() []arsapi.Model
	ModelNames() []string
	Match(reported string) arsapi.ModelMatch
	DefaultThreshold() int
	ReasonIDs() []string
	Reason(id string) (arsapi.CancelReason, bool)
}

// Deregisterer is told that an amazon enrollment was cancelled
// (fulfil.Deregisterer: Amazon Dash Replenishment's DELETE /registration).
type Deregisterer interface {
	Deregister(ctx context.Context, enrollmentID string) error
}

// Config are the core's dependencies; Store and Catalogue are required.
type Config struct {
	Store     Store
	Catalogue Catalogue
	Logger    *slog.Logger
	// Metrics, when set, counts enrollments, level reports, orders and
	// cancellations.
	Metrics *Metrics
	// Deregisterer, when set, is told about cancelled amazon enrollments.
	Deregisterer Deregisterer
	// NoAmazon refuses amazon enrollments, for a server with no Amazon
	// settings.
	NoAmazon bool
	// NotEnrollablePerHour limits, per account, the enrollments refused
	// because the account cannot enroll the printer (its serial has a
	// live enrollment in another account), in the database: each
	// enrollment checks the budget before the store is asked and takes an
	// attempt only when it was such a refusal; once the budget is spent
	// every new enrollment of the account is refused with *LimitedError
	// until the hour is over, so that an account cannot test serial after
	// serial. Zero means NotEnrollablePerHourDefault.
	NotEnrollablePerHour int
	// LevelsReported, when set, is called after a level report is stored,
	// e.g. to tell Amazon the device is active. It must return quickly.
	LevelsReported func(enrollmentID string, readAt time.Time)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NotEnrollablePerHourDefault is how many "cannot be enrolled by this
// account" answers an account gets per hour by default.
const NotEnrollablePerHourDefault = 5

// DeregisterTimeout bounds the Amazon deregistration of a cancel.
const DeregisterTimeout = 15 * time.Second

// Service applies the enrollment rules: create with eligibility, level
// reports with their validation and the order decision, cancel with
// reasons, threshold and pause. The API and the web pages both call it,
// so that a rule, a metric or a log line is the same whichever way an
// owner comes.
//
// Input a rule refuses is answered with a *arsapi.Problem (its Code and
// Detail say what is wrong; the API sends it as is, the pages show it);
// the store's errors (ErrNotFound, ErrNotActive, *AlreadyEnrolledError,
// *LimitedError, ErrInvalid) pass through.
type Service struct {
	cfg Config
	st  Store
	cat Catalogue
	log *slog.Logger
}

// New returns the core.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Catalogue == nil {
		return nil, errors.New("core: Store and Catalogue are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.NotEnrollablePerHour <= 0 {
		c.NotEnrollablePerHour = NotEnrollablePerHourDefault
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{cfg: c, st: c.Store, cat: c.Catalogue, log: c.Logger}, nil
}

// Metrics are the core's Prometheus metrics.
type Metrics struct {
	LevelReports       prometheus.Counter
	OrdersPlaced       prometheus.Counter
	EnrollmentsCreated *prometheus.CounterVec
	Cancellations      *prometheus.CounterVec
}

// NewMetrics creates the core's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		LevelReports: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "arsd_level_reports_total", Help: "Supply level reports accepted.",
		}),
		OrdersPlaced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "arsd_orders_placed_total", Help: "Replenishment orders placed by level reports.",
		}),
		EnrollmentsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arsd_enrollments_created_total", Help: "Enrollments created, by provider.",
		}, []string{"provider"}),
		Cancellations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arsd_cancellations_total", Help: "Enrollments cancelled, by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.LevelReports, m.OrdersPlaced, m.EnrollmentsCreated, m.Cancellations)
	return m
}

// Input limits of an enrollment.
const (
	maxModelLen = 128
	maxUUIDLen  = 64
	maxLabelLen = 100
)

// problem builds an RFC 9457 problem document.
func problem(status int, code, detail string) *arsapi.Problem {
	return &arsapi.Problem{Status: status, Title: http.StatusText(status), Code: code, Detail: detail}
}

func invalid(detail string) *arsapi.Problem {
	return problem(http.StatusUnprocessableEntity, arsapi.CodeInvalid, detail)
}

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

// InvalidDetail is what an ErrInvalid error says, without its prefix:
// "threshold 120 is not a percentage (0-100)".
func InvalidDetail(err error) string {
	return strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
}

// Create enrolls a printer in accountID's account. The request is checked
// (checkEnrollment) and its printer fields normalised; the model becomes
// the catalogue's canonical name. An account whose budget of refusals is
// spent gets *LimitedError; a printer with a live enrollment
// *AlreadyEnrolledError, which counts against that budget when the
// enrollment is another account's.
func (s *Service) Create(ctx context.Context, accountID string, req arsapi.CreateEnrollmentRequest) (arsapi.Enrollment, error) {
	if p := s.checkEnrollment(&req); p != nil {
		return arsapi.Enrollment{}, p
	}
	// The account's budget of refusals is checked before the store is
	// asked, and a refusal (the printer is another account's) is
	// counted: serial by serial, an account could otherwise learn which
	// printers are enrolled somewhere (a Canon serial is also the
	// printer's admin password). Enrollments that are not refused take
	// nothing from it, however many run at once.
	refusals := Limit{Key: "not-enrollable:" + accountID, Max: s.cfg.NotEnrollablePerHour, Window: time.Hour}
	if err := s.st.CheckAttempt(ctx, refusals); err != nil {
		return arsapi.Enrollment{}, err
	}
	e, err := s.st.CreateEnrollment(ctx, accountID, req, s.cat.DefaultThreshold())
	var already *AlreadyEnrolledError
	if errors.As(err, &already) && !already.SameAccount {
		var limited *LimitedError
		if terr := s.st.TakeAttempt(ctx, refusals); terr != nil && !errors.As(terr, &limited) {
			s.log.WarnContext(ctx, "core: count a refused enrollment", "err", terr)
		}
		s.log.WarnContext(ctx, "enrollment refused: the printer has a live enrollment in another account",
			"account", accountID, "enrollment", already.ID)
	}
	if err != nil {
		return e, err
	}
	if m := s.cfg.Metrics; m != nil {
		m.EnrollmentsCreated.WithLabelValues(string(e.Provider)).Inc()
	}
	s.log.InfoContext(ctx, "enrollment created", "account", accountID, "enrollment", e.ID, "provider", e.Provider, "model", e.Printer.Model)
	if req.Levels != nil {
		s.firstLevels(ctx, accountID, &e, *req.Levels)
	}
	return e, nil
}

// firstLevels stores the levels sent with a new enrollment as its first
// level report (ReportLevels), and shows them in e. Levels that are not a
// valid report are left out (logged): the enrollment stands, and the
// monitor's first report brings them.
func (s *Service) firstLevels(ctx context.Context, accountID string, e *arsapi.Enrollment, rep arsapi.LevelReport) {
	_, err := s.ReportLevels(ctx, accountID, e.ID, rep)
	var refused *arsapi.Problem
	switch {
	case errors.As(err, &refused):
		s.log.InfoContext(ctx, "enrollment levels left out", "enrollment", e.ID, "why", refused.Detail)
		return
	case err != nil:
		s.log.WarnContext(ctx, "store an enrollment's first levels", "enrollment", e.ID, "err", err)
		return
	}
	if got, err := s.st.GetEnrollment(ctx, accountID, e.ID); err == nil {
		*e = got
	}
}

// ReportLevels stores a level report of one of accountID's enrollments
// and places the orders the order decision asks for (package reorder,
// inside the store's transaction). The report is checked first
// (checkReport); a zero ReadAt means now.
func (s *Service) ReportLevels(ctx context.Context, accountID, id string, rep arsapi.LevelReport) (arsapi.LevelReportResult, error) {
	if p := checkReport(&rep, s.cfg.Now().UTC()); p != nil {
		return arsapi.LevelReportResult{}, p
	}
	res, err := s.st.ReportLevels(ctx, accountID, id, rep)
	if err != nil {
		return res, err
	}
	if res.Orders == nil {
		res.Orders = []arsapi.Order{}
	}
	if m := s.cfg.Metrics; m != nil {
		m.LevelReports.Inc()
		m.OrdersPlaced.Add(float64(len(res.Orders)))
	}
	for _, o := range res.Orders {
		s.log.InfoContext(ctx, "order placed", "enrollment", id, "order", o.ID, "supply", o.Supply, "level", o.LevelAtOrder)
	}
	if s.cfg.LevelsReported != nil {
		s.cfg.LevelsReported(id, rep.ReadAt)
	}
	return res, nil
}

// checkReport is the rule for a level report: a reading time within
// arsapi.MaxReadAtAge back and arsapi.MaxReadAtAhead ahead of now, and
// supplies that pass CheckSupplies (which it normalises).
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
	sups, err := CheckSupplies(rep.Supplies)
	if err != nil {
		return invalid(InvalidDetail(err))
	}
	rep.Supplies = sups
	return nil
}

// Limits of a level report.
const (
	MaxSupplies      = 64
	MaxSupplyNameLen = 128
)

// CheckSupplies is the rule for the supplies of a level report, the one
// both the core and the store apply: 1 to MaxSupplies supplies, each with
// a name (trimmed, at most MaxSupplyNameLen bytes of single-line text)
// that no other supply of the report has, a level from 0 to 100 or -1
// (other), -2 (unknown), -3 (some remaining), low and high marks from 0
// to 100, at most 16 colours like "#00FFFF", class consumed or
// receptacle and state low or empty when given. It returns the supplies with their names
// trimmed, or an error wrapping ErrInvalid that says what is wrong.
func CheckSupplies(in []printer.Supply) ([]printer.Supply, error) {
	bad := func(format string, a ...any) ([]printer.Supply, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if len(in) == 0 {
		return bad("supplies is empty: report every supply of the printer")
	}
	if len(in) > MaxSupplies {
		return bad("a report has at most %d supplies", MaxSupplies)
	}
	out := make([]printer.Supply, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i, sp := range in {
		field := fmt.Sprintf("supplies[%d]", i)
		// The text rule applies before trimming, which would take line
		// and paragraph separators off the ends unseen.
		if p := firstProblem(checkText(field+".name", sp.Name, MaxSupplyNameLen),
			checkText(field+".type", sp.Type, 64), checkText(field+".color_name", sp.ColorName, 64)); p != nil {
			return bad("%s", p.Detail)
		}
		sp.Name = strings.TrimSpace(sp.Name)
		if sp.Name == "" {
			return bad("%s.name is required", field)
		}
		switch {
		case seen[sp.Name]:
			return bad("%s: supply %q is listed twice", field, sp.Name)
		case sp.Level < printer.LevelSomeRemaining || sp.Level > 100:
			return bad("%s.level %d must be 0-100 or -1 (other), -2 (unknown), -3 (some remaining)", field, sp.Level)
		case sp.Low < 0 || sp.Low > 100 || sp.High < 0 || sp.High > 100:
			return bad("%s: low and high must be 0-100", field)
		case len(sp.Colors) > 16:
			return bad("%s: at most 16 colors", field)
		case sp.Class != "" && sp.Class != printer.ClassConsumed && sp.Class != printer.ClassReceptacle:
			return bad("%s.class must be %s or %s", field, printer.ClassConsumed, printer.ClassReceptacle)
		case sp.State != "" && sp.State != printer.StateLow && sp.State != printer.StateEmpty:
			return bad("%s.state must be %s or %s, or left out", field, printer.StateLow, printer.StateEmpty)
		}
		for _, c := range sp.Colors {
			// A comma would split the colour when stored.
			if checkText("", c, 16) != nil || strings.Contains(c, ",") {
				return bad(`%s: colors must be like "#00FFFF"`, field)
			}
		}
		seen[sp.Name] = true
		out = append(out, sp)
	}
	return out, nil
}

// Cancel cancels one of accountID's enrollments for the reasons of req
// (checkCancel), counts each reason, and tells the Deregisterer about an
// amazon enrollment, waiting at most DeregisterTimeout: the cancellation
// stands whatever it answers (a failure is logged). A cancelled
// enrollment answers ErrNotActive.
func (s *Service) Cancel(ctx context.Context, accountID, id string, req arsapi.CancelRequest) (arsapi.Enrollment, error) {
	if p := s.checkCancel(&req); p != nil {
		return arsapi.Enrollment{}, p
	}
	e, err := s.st.CancelEnrollment(ctx, accountID, id, req)
	if err != nil {
		return e, err
	}
	if m := s.cfg.Metrics; m != nil {
		for _, reason := range req.Reasons {
			m.Cancellations.WithLabelValues(reason).Inc()
		}
	}
	s.log.InfoContext(ctx, "enrollment cancelled", "account", accountID, "enrollment", e.ID, "reasons", strings.Join(req.Reasons, ","))
	if e.Provider == arsapi.ProviderAmazon && s.cfg.Deregisterer != nil {
		dctx, stop := context.WithTimeout(context.WithoutCancel(ctx), DeregisterTimeout)
		if err := s.cfg.Deregisterer.Deregister(dctx, e.ID); err != nil {
			s.log.WarnContext(dctx, "amazon deregistration failed", "enrollment", e.ID, "err", err)
		}
		stop()
	}
	return e, nil
}

// Thresholds an owner may choose, in percent (the order decision's).
const (
	MinThreshold = reorder.MinThreshold
	MaxThreshold = reorder.MaxThreshold
)

// SetThreshold sets the threshold of one of accountID's enrollments: a
// whole percentage from MinThreshold to MaxThreshold
// (reorder.CheckThreshold, the rule the store and the catalogue apply
// too).
func (s *Service) SetThreshold(ctx context.Context, accountID, id string, percent int) (arsapi.Enrollment, error) {
	if err := reorder.CheckThreshold(percent); err != nil {
		return arsapi.Enrollment{}, invalid(err.Error())
	}
	e, err := s.st.SetThreshold(ctx, accountID, id, percent)
	if err != nil {
		return e, err
	}
	s.log.InfoContext(ctx, "threshold set", "account", accountID, "enrollment", id, "threshold", percent)
	return e, nil
}

// SetPaused pauses (no orders) or resumes one of accountID's enrollments.
func (s *Service) SetPaused(ctx context.Context, accountID, id string, paused bool) (arsapi.Enrollment, error) {
	e, err := s.st.SetPaused(ctx, accountID, id, paused)
	if err != nil {
		return e, err
	}
	done := "resumed"
	if paused {
		done = "paused"
	}
	s.log.InfoContext(ctx, "enrollment "+done, "account", accountID, "enrollment", id)
	return e, nil
}

// checkEnrollment is the rule for a new enrollment: a provider this
// server offers, a printer with a model, a serial and text fields within
// their limits, the current terms, and an eligible model (checkModel).
func (s *Service) checkEnrollment(req *arsapi.CreateEnrollmentRequest) *arsapi.Problem {
	switch req.Provider {
	case arsapi.ProviderAmazon:
		if s.cfg.NoAmazon {
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
	terms := s.cat.Terms()
	switch {
	case req.TermsVersion == "":
		return invalid("terms_version is required: read GET /v1/terms and send the version agreed to")
	case req.TermsVersion != terms.Version:
		p := problem(http.StatusUnprocessableEntity, arsapi.CodeTermsOutdated,
			fmt.Sprintf("the terms have changed: version %q was agreed but the current version is %q; read GET /v1/terms and agree again", req.TermsVersion, terms.Version))
		return p
	}
	return s.checkModel(pr)
}

// checkModel applies the catalogue's matching rule to the printer: model
// must be one eligible model (by name or alias, or a series that covers
// exactly one), and series, when given, must cover it. On success model is
// the canonical name, and series what the printer reports.
func (s *Service) checkModel(pr *arsapi.Printer) *arsapi.Problem {
	pr.Series = strings.TrimSpace(pr.Series)
	if p := checkText("printer.series", pr.Series, maxModelLen); p != nil {
		return p
	}
	models := s.cat.Models()
	reported := pr.Series
	if reported == "" {
		reported = pr.Model
	}
	m := s.cat.Match(reported)
	if !m.Eligible() {
		p := problem(http.StatusUnprocessableEntity, arsapi.CodeIneligibleModel, m.Why(models, reported))
		if m.Kind != arsapi.MatchOtherMake {
			p.Detail += "; eligible models: " + strings.Join(s.cat.ModelNames(), ", ")
			p.Eligible = s.cat.ModelNames()
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

// checkCancel is the rule for a cancellation: at least one reason, each
// one of the catalogue's, with a comment when a reason takes one. It
// trims the comment and drops repeated reasons.
func (s *Service) checkCancel(req *arsapi.CancelRequest) *arsapi.Problem {
	ids := s.cat.ReasonIDs()
	if len(req.Reasons) == 0 {
		p := problem(http.StatusUnprocessableEntity, arsapi.CodeNoReason,
			"give at least one reason for cancelling; valid reasons: "+strings.Join(ids, ", "))
		p.Reasons = ids
		return p
	}
	// The store checks the comment's text.
	req.Comment = strings.TrimSpace(req.Comment)
	var uniq []string
	needsComment := ""
	for _, id := range req.Reasons {
		reason, ok := s.cat.Reason(id)
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

var _ Catalogue = (*catalogue.Catalogue)(nil)
