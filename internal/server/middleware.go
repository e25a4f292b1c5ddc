package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// statusWriter remembers the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes hijacking on.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijacking not supported")
}

// refuseControlURLs answers 400 to a request whose decoded path, query
// names or query values hold a control character (NUL included) or are
// not UTF-8. No URL arsd serves has one, and PostgreSQL cannot compare
// text holding NUL or invalid UTF-8: an id like that would fail there
// where SQLite answers "not found". Refusing it before any handler runs
// makes every door answer alike on both databases.
func refuseControlURLs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cleanURLText(r.URL.Path) && cleanQuery(r.URL.RawQuery) {
			next.ServeHTTP(w, r)
			return
		}
		const detail = "the URL holds a control character or bytes that are not UTF-8"
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			b, _ := json.Marshal(arsapi.Problem{Title: http.StatusText(http.StatusBadRequest), Status: http.StatusBadRequest,
				Code: arsapi.CodeInvalid, Detail: detail})
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(append(b, '\n'))
			return
		}
		http.Error(w, "Bad Request: "+detail, http.StatusBadRequest)
	})
}

func cleanQuery(raw string) bool {
	if raw == "" {
		return true
	}
	q, _ := url.ParseQuery(raw)
	for k, vs := range q {
		if !cleanURLText(k) {
			return false
		}
		for _, v := range vs {
			if !cleanURLText(v) {
				return false
			}
		}
	}
	return true
}

func cleanURLText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// methodLabel is the method as a metric label: one of the methods arsd
// serves, or "other". Clients choose the method, so any other string
// would make a new series each time and /metrics would grow without bound.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// instrument wraps the mux: request metrics by route pattern (or
// "unmatched") and a fixed set of methods, a log line
// per request (method, route, path, status, duration; never headers or
// query strings, which may hold tokens, codes or serials), and recovery
// from panics as a 500 problem.
func (s *Server) instrument(next http.Handler) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arsd_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "arsd_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method"})
	s.reg.MustRegister(requests, latency)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "handler panic", "route", r.Pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !sw.wrote {
					sw.Header().Set("Content-Type", "application/problem+json")
					sw.WriteHeader(http.StatusInternalServerError)
					_, _ = sw.Write([]byte(`{"title":"Internal Server Error","status":500,"code":"internal"}` + "\n"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			} else if _, p, ok := strings.Cut(route, " "); ok {
				route = p
			}
			if !sw.wrote {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			method := methodLabel(r.Method)
			requests.WithLabelValues(route, method, strconv.Itoa(sw.status)).Inc()
			latency.WithLabelValues(route, method).Observe(d.Seconds())
			level := slog.LevelDebug
			if sw.status >= 500 {
				level = slog.LevelWarn
			}
			if s.log.Enabled(r.Context(), level) {
				s.log.LogAttrs(r.Context(), level, "request",
					slog.String("method", method), slog.String("route", route), slog.String("path", logPath(r)),
					slog.Int("status", sw.status), slog.Duration("duration", d))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// logPath is the request's path for the log, with a path segment that is
// a secret (a one-click link's {token}) shown as the route names it.
func logPath(r *http.Request) string {
	if tok := r.PathValue("token"); tok != "" {
		return strings.Replace(r.URL.Path, tok, "{token}", 1)
	}
	return r.URL.Path
}
