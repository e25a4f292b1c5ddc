package oauth

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/time/rate"

	"github.com/arsctl/arsctl/internal/server/authn"
	"github.com/arsctl/arsctl/internal/server/store"
)

// limiter counts failed token requests per client address.
type limiter struct {
	mu    sync.Mutex
	burst int
	every time.Duration
	m     map[string]*rate.Limiter
}

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{burst: burst, every: every, m: map[string]*rate.Limiter{}}
}

func (l *limiter) get(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= 10000 {
			// Forget addresses whose bucket is full again.
			for k, v := range l.m {
				if v.Tokens() >= float64(l.burst) {
					delete(l.m, k)
				}
			}
		}
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.m[key] = lim
	}
	return lim
}

// blocked reports whether key has no failures left.
func (l *limiter) blocked(key string) bool { return l.get(key).Tokens() < 1 }

// fail records a failure under key.
func (l *limiter) fail(key string) { l.get(key).Allow() }

// take spends one of key's requests; false when none is left.
func (l *limiter) take(key string) bool { return l.get(key).Allow() }

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
		if r.Method == http.MethodOptions { // a CORS preflight: the provider answers it
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "the token endpoint takes POST", http.StatusMethodNotAllowed)
			return
		}
		addr := authn.ClientAddr(r, s.cfg.TrustProxy)
		if s.limiter.blocked(addr) {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.TokenFailureEvery.Seconds()+0.5)))
			writeOAuthError(w, r, http.StatusTooManyRequests, oidc.ErrInvalidRequest().
				WithDescription("too many failed token requests from this address; try again later"))
			return
		}
		if !s.clientForm(w, r, addr) {
			return
		}
		grant := r.PostForm.Get("grant_type")
		if grant == deviceGrant {
			code := r.PostForm.Get("device_code")
			slow, _, err := s.st.PollDevice(r.Context(), code)
			switch {
			case errors.Is(err, store.ErrNotFound) || code == "":
				s.limiter.fail(addr)
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
			s.limiter.fail(addr)
		}
	})
}

// clientForm reads the form of a token or device authorization request
// and checks that it names arsd's one client: another client_id (or none)
// answers invalid_client (RFC 6749, section 5.2: 401 with
// WWW-Authenticate when the client authenticated with the Authorization
// header, else 400) and counts as a failure of the address.
func (s *Server) clientForm(w http.ResponseWriter, r *http.Request, addr string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.limiter.fail(addr)
		writeOAuthError(w, r, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("cannot parse form"))
		return false
	}
	id := r.PostForm.Get("client_id")
	user, _, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(user)
	}
	if id == CLIClientID {
		return true
	}
	s.limiter.fail(addr)
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
		if r.Method == http.MethodOptions { // a CORS preflight: the provider answers it
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "the device authorization endpoint takes POST", http.StatusMethodNotAllowed)
			return
		}
		addr := authn.ClientAddr(r, s.cfg.TrustProxy)
		if s.limiter.blocked(addr) {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.TokenFailureEvery.Seconds()+0.5)))
			writeOAuthError(w, r, http.StatusTooManyRequests, oidc.ErrInvalidRequest().
				WithDescription("too many failed requests from this address; try again later"))
			return
		}
		if !s.clientForm(w, r, addr) {
			return
		}
		if !s.starts.take(addr) {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.DeviceStartEvery.Seconds()+0.5)))
			writeOAuthError(w, r, http.StatusTooManyRequests, oidc.ErrSlowDown().
				WithDescription("too many device sign-ins started from this address; try again later"))
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

func writeOAuthError(w http.ResponseWriter, r *http.Request, status int, e *oidc.Error) {
	op.WriteError(w, r, op.NewStatusError(e, status), nil)
}
