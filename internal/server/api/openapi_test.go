package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/store"
)

// docPath is the OpenAPI document every request and answer of these tests
// is checked against.
const docPath = "../../../docs/api/openapi.yaml"

var (
	docOnce sync.Once
	docVal  *openapi3.T
	docErr  error
)

func loadDoc(t testing.TB) *openapi3.T {
	t.Helper()
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		docVal, docErr = loader.LoadFromFile(docPath)
		if docErr == nil {
			docErr = docVal.Validate(context.Background())
		}
	})
	if docErr != nil {
		t.Fatalf("%s: %v", docPath, docErr)
	}
	return docVal
}

// validatingTransport checks every request against the document and every
// answer against the operation's documented answers: a request the
// document calls invalid must be refused, and every answer (status,
// headers, body) must be documented.
type validatingTransport struct {
	t      testing.TB
	next   http.RoundTripper
	router routers.Router
}

func newValidatingTransport(t testing.TB, serverURL string, next http.RoundTripper) *validatingTransport {
	t.Helper()
	doc := *loadDoc(t)
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := gorillamux.NewRouter(&doc)
	if err != nil {
		t.Fatalf("openapi router: %v", err)
	}
	return &validatingTransport{t: t, next: next, router: router}
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
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

	what := fmt.Sprintf("%s %s", req.Method, req.URL.RequestURI())
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

// TestRoutesDocumented checks that every route the API registers is in
// the document, and that every /v1 path of the document is served by the
// API or by a component the server wires (amazon).
func TestRoutesDocumented(t *testing.T) {
	doc := loadDoc(t)
	st := store.New(dbtest.SQLite(t))
	cat, _ := catalogue.New(catalogue.Config{}, "http://x")
	a, err := New(Options{Store: st, Catalogue: cat, Auth: testAuth{st}})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, rt := range a.RouteList() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		served[method+" "+path] = true
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %q is not in %s", rt.Pattern, docPath)
			continue
		}
		op := item.GetOperation(method)
		documentedAuth := op.Security == nil || len(*op.Security) > 0
		if documentedAuth != rt.Auth {
			t.Errorf("route %q: auth %v, document says %v", rt.Pattern, rt.Auth, documentedAuth)
		}
	}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v1/amazon/") {
			continue // operations and amazon routes are checked by the server's tests
		}
		for method := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("%s %s is documented but not served by the API", method, path)
			}
		}
	}
}
