package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/arsctl/arsctl/internal/server/authn"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Failed requests at the token and device authorization endpoints, and
// device authorizations started, are counted per client address in the
// database (store.Limits), so that the budgets hold across replicas. A
// request is refused when its address's failures are spent, and a failed
// request is counted once it failed: requests that do not fail hold no
// part of the budget, however many run at once.

// failures is an address's budget of failed requests.
func (s *Server) failures(addr string) store.Limit {
	return store.Burst("oauth-failures:"+addr, s.cfg.TokenFailures, s.cfg.TokenFailureEvery)
}

// checkFailures answers 429 (or 500 when the database fails) and returns
// false when addr's failures are spent.
func (s *Server) checkFailures(w http.ResponseWriter, r *http.Request, addr, what string) bool {
	return s.answerLimited(w, r, s.st.CheckAttempt(r.Context(), s.failures(addr)), oidc.ErrInvalidRequest().
		WithDescription("too many failed %s from this address; try again later", what))
}

// take takes an attempt under l, or answers 429 with e (500 when the
// database fails) and returns false.
func (s *Server) take(w http.ResponseWriter, r *http.Request, l store.Limit, e *oidc.Error) bool {
	return s.answerLimited(w, r, s.st.TakeAttempt(r.Context(), l), e)
}

// answerLimited answers 429 with e and a Retry-After for a
// *store.LimitedError, 500 for another error, and returns whether err
// was nil.
func (s *Server) answerLimited(w http.ResponseWriter, r *http.Request, err error, e *oidc.Error) bool {
	var limited *store.LimitedError
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
		writeOAuthError(w, r, http.StatusTooManyRequests, e)
		return false
	case err != nil:
		s.log.ErrorContext(r.Context(), "read an attempt budget", "err", err)
		writeOAuthError(w, r, http.StatusInternalServerError, oidc.ErrServerError())
		return false
	}
	return true
}

// failed counts a failed request of addr.
func (s *Server) failed(r *http.Request, addr string) {
	err := s.st.TakeAttempt(context.WithoutCancel(r.Context()), s.failures(addr))
	if err != nil && !errors.As(err, new(*store.LimitedError)) {
		s.log.WarnContext(r.Context(), "count a failed request", "err", err)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

const deviceGrant = string(oidc.GrantTypeDeviceCode)

// tokenGuard fronts the token endpoint: it limits failed requests per
// client address (wrong codes, unknown device codes, bad refresh tokens)
// and enforces the device code polling interval with slow_down
// (RFC 8628, section 3.5) in the database, so that it holds across
// replicas.
func (s *Server) tokenGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, ok := s.clientPost(w, r, next, "the token endpoint", "token requests")
		if !ok {
			return
		}
		grant := r.PostForm.Get("grant_type")
		if grant == deviceGrant {
			code := r.PostForm.Get("device_code")
			slow, _, err := s.st.PollDevice(r.Context(), code)
			switch {
			case errors.Is(err, store.ErrNotFound) || code == "":
				s.failed(r, addr)
				writeOAuthError(w, r, http.StatusBadRequest, oidc.ErrInvalidGrant().WithDescription("unknown device_code"))
				return
			case err != nil:
				s.log.ErrorContext(r.Context(), "device poll", "err", err)
				writeOAuthError(w, r, http.StatusInternalServerError, oidc.ErrServerError())
				return
			case slow:
				writeOAuthError(w, r, http.StatusBadRequest, oidc.ErrSlowDown().
					WithDescription("polling too fast; wait the interval, now 5 seconds longer"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusBadRequest || rec.status == http.StatusUnauthorized {
			s.failed(r, addr)
		}
	})
}

// clientPost is the front the token and device authorization endpoints
// share: a CORS preflight goes on to the provider, any method but POST is
// refused, an address over its failure budget is refused, and the form
// must name arsd's client (a failure of the address when it does not). It
// returns the client address, and false when the request was answered or
// handed to next already.
func (s *Server) clientPost(w http.ResponseWriter, r *http.Request, next http.Handler, endpoint, what string) (string, bool) {
	if r.Method == http.MethodOptions { // a CORS preflight: the provider answers it
		next.ServeHTTP(w, r)
		return "", false
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, endpoint+" takes POST", http.StatusMethodNotAllowed)
		return "", false
	}
	addr := authn.ClientAddr(r, s.cfg.TrustProxy)
	if !s.checkFailures(w, r, addr, what) {
		return "", false
	}
	if !s.clientForm(w, r) {
		s.failed(r, addr)
		return "", false
	}
	return addr, true
}

// clientForm reads the form of a token or device authorization request
// and checks that it names arsd's one client: another client_id (or none)
// answers invalid_client (RFC 6749, section 5.2: 401 with
// WWW-Authenticate when the client authenticated with the Authorization
// header, else 400), which the caller counts as a failure of the address.
func (s *Server) clientForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, r, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("cannot parse form"))
		return false
	}
	id := r.PostForm.Get("client_id")
	user, _, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(user)
	}
	if id == arsapi.CLIClientID {
		return true
	}
	status := http.StatusBadRequest
	if basic {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="arsd"`)
	}
	writeOAuthError(w, r, status, oidc.ErrInvalidClient().WithDescription("unknown client"))
	return false
}

// deviceAuthGuard fronts the device authorization endpoint: it checks the
// client, limits device authorizations per client address (DeviceStarts,
// then one per DeviceStartEvery), and caps the device codes alive at once
// (MaxLiveDeviceCodes), so that no one can fill the database with codes.
// The cap is checked before a code is stored, so concurrent requests may
// pass it by as many as arrive at once.
func (s *Server) deviceAuthGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, ok := s.clientPost(w, r, next, "the device authorization endpoint", "requests")
		if !ok {
			return
		}
		if !s.take(w, r, store.Burst("device-starts:"+addr, s.cfg.DeviceStarts, s.cfg.DeviceStartEvery), oidc.ErrSlowDown().
			WithDescription("too many device sign-ins started from this address; try again later")) {
			return
		}
		n, err := s.st.CountLiveDeviceCodes(r.Context())
		if err != nil {
			s.log.ErrorContext(r.Context(), "count device codes", "err", err)
			writeOAuthError(w, r, http.StatusInternalServerError, oidc.ErrServerError())
			return
		}
		if n >= s.cfg.MaxLiveDeviceCodes {
			s.log.WarnContext(r.Context(), "device authorization refused: too many live device codes", "live", n)
			w.Header().Set("Retry-After", "60")
			writeOAuthError(w, r, http.StatusServiceUnavailable, &oidc.Error{ErrorType: "temporarily_unavailable",
				Description: "too many device sign-ins in progress; try again in a minute or use the browser sign-in"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxAuthorizeRequest bounds the query (or form) of an authorization
// request, which is stored until it expires: arsctl's is about 400 bytes.
const maxAuthorizeRequest = 4 << 10

// authorizeGuard fronts the authorize endpoint, where anyone may start an
// authorization request that is stored until it expires (AuthRequestTTL):
// it refuses a query or form larger than maxAuthorizeRequest, limits
// requests per client address (AuthorizeStarts, then one per
// AuthorizeStartEvery) and caps the requests alive at once
// (MaxLiveAuthRequests), so that no one can fill the database with
// requests. The cap is checked before a request is stored, so concurrent
// requests may pass it by as many as arrive at once.
func (s *Server) authorizeGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RawQuery) > maxAuthorizeRequest || r.ContentLength > maxAuthorizeRequest {
			s.render(w, r, http.StatusRequestEntityTooLarge, "done", pageData{Title: "Sign-in request too large",
				Message: "This sign-in request is larger than any arsctl makes. Start again from arsctl (arsctl auth login)."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxAuthorizeRequest)
		addr := authn.ClientAddr(r, s.cfg.TrustProxy)
		err := s.st.TakeAttempt(r.Context(), store.Burst("authorize:"+addr, s.cfg.AuthorizeStarts, s.cfg.AuthorizeStartEvery))
		var limited *store.LimitedError
		if errors.As(err, &limited) {
			w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
			s.render(w, r, http.StatusTooManyRequests, "done", pageData{Title: "Too many sign-ins",
				Message: "Too many sign-ins were started from this address just now. Wait a minute and run arsctl auth login again."})
			return
		}
		n := 0
		if err == nil {
			n, err = s.st.CountLiveAuthRequests(r.Context())
		}
		if err != nil {
			s.log.ErrorContext(r.Context(), "authorize: check limits", "err", err)
			s.render(w, r, http.StatusInternalServerError, "done", pageData{Title: "Something went wrong", Message: "Please try again."})
			return
		}
		if n >= s.cfg.MaxLiveAuthRequests {
			s.log.WarnContext(r.Context(), "authorization refused: too many live authorization requests", "live", n)
			w.Header().Set("Retry-After", "60")
			s.render(w, r, http.StatusServiceUnavailable, "done", pageData{Title: "Too many sign-ins in progress",
				Message: "Too many sign-ins are in progress. Try again in a minute, or sign in with a code (arsctl auth login --device)."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeOAuthError(w http.ResponseWriter, r *http.Request, status int, e *oidc.Error) {
	op.WriteError(w, r, op.NewStatusError(e, status), nil)
}
