package api

import (
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/server/api/openapitest"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/store"
)

// TestRoutesDocumented checks that every route the API registers is in
// the document, and that every /v1 path of the document is served by the
// API or by a component the server wires (amazon).
func TestRoutesDocumented(t *testing.T) {
	doc := openapitest.Doc(t)
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
			t.Errorf("route %q is not in %s", rt.Pattern, openapitest.DocPath())
			continue
		}
		op := item.GetOperation(method)
		documentedAuth := op.Security == nil || len(*op.Security) > 0
		if documentedAuth != rt.Auth {
			t.Errorf("route %q: auth %v, document says %v", rt.Pattern, rt.Auth, documentedAuth)
		}
	}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v1/amazon/") || strings.HasPrefix(path, "/v1/tokens") {
			continue // operations, amazon and oauth routes are checked by the server's tests
		}
		for method := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("%s %s is documented but not served by the API", method, path)
			}
		}
	}
}
