// Package openapitest checks HTTP traffic against docs/api/openapi.yaml in
// tests, so that the document and the server cannot drift apart.
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// DocPath is the absolute path of docs/api/openapi.yaml in this module.
func DocPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "docs", "api", "openapi.yaml")
}

var (
	once sync.Once
	doc  *openapi3.T
	err  error
)

// Doc loads and validates the document (once per test binary).
func Doc(t testing.TB) *openapi3.T {
	t.Helper()
	once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err = loader.LoadFromFile(DocPath())
		if err == nil {
			err = doc.Validate(context.Background())
		}
	})
	if err != nil {
		t.Fatalf("%s: %v", DocPath(), err)
	}
	return doc
}

// Transport checks every request against the document and every answer
// against the operation's documented answers: a request the document
// calls invalid must be refused (status >= 400), every route must be
// documented, and every answer's status, headers and body must match.
// Failures are reported with t.Errorf.
type Transport struct {
	t      testing.TB
	next   http.RoundTripper
	router routers.Router
}

// NewTransport returns a Transport for a server at serverURL, sending
// requests through next (http.DefaultTransport when nil).
func NewTransport(t testing.TB, serverURL string, next http.RoundTripper) *Transport {
	t.Helper()
	d := *Doc(t)
	d.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := gorillamux.NewRouter(&d)
	if err != nil {
		t.Fatalf("openapi router: %v", err)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &Transport{t: t, next: next, router: router}
}

// RoundTrip implements http.RoundTripper.
func (v *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.t.Errorf("openapi: %s %s is not documented: %v", req.Method, req.URL.Path, err)
		return v.next.RoundTrip(req)
	}
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{
		Request:    check,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)

	res, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))

	what := fmt.Sprintf("%s %s", req.Method, req.URL.Path)
	if reqErr != nil && res.StatusCode < 400 {
		v.t.Errorf("openapi: %s: the document refuses the request but the server answered %d: %v", what, res.StatusCode, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("openapi: %s: answer %d does not match the document: %v\nbody: %s", what, res.StatusCode, err, body)
	}
	return res, nil
}
