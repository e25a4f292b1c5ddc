package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/arsctl/arsctl/internal/server/authn/gatetest"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// slowAccounts is a Store whose GetAccount is held by a gatetest.Holder.
type slowAccounts struct {
	Store
	*gatetest.Holder
}

func (s slowAccounts) GetAccount(ctx context.Context, id string) (arsapi.Account, error) {
	s.Hold(id)
	return s.Store.GetAccount(ctx, id)
}

// TestAccountRequestsRunFewAtOnce: a page of 200 printers that report 64
// long supply names each is megabytes in memory; one account sending 64
// such requests at once held them all (a live arsd on PostgreSQL: 730 MB
// of heap, 16 at once 240 MB resident). An account's requests now run
// requestsPerAccount at a time and the others wait their turn: all are
// answered, and another account is not held up.
func TestAccountRequestsRunFewAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		st := store.New(d)
		ctx := context.Background()
		busy, err := st.CreateAccount(ctx, "busy@example.com", "correct horse battery", "")
		if err != nil {
			t.Fatal(err)
		}
		other, err := st.CreateAccount(ctx, "other@example.com", "correct horse battery", "")
		if err != nil {
			t.Fatal(err)
		}
		cat, err := catalogue.New(catalogue.Config{}, "http://127.0.0.1:8787")
		if err != nil {
			t.Fatal(err)
		}
		slow := slowAccounts{Store: st, Holder: gatetest.NewHolder()}
		c, err := core.New(core.Config{Store: st, Catalogue: cat})
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(Options{Store: slow, Core: c, Catalogue: cat, Auth: testAuth{st}, PublicURL: "http://127.0.0.1:8787"})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		a.Routes(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		get := func(acct string) int {
			req, _ := http.NewRequest("GET", srv.URL+"/v1/account", nil)
			req.Header.Set("Authorization", "Bearer test-"+acct)
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return 0
			}
			res.Body.Close()
			return res.StatusCode
		}
		gatetest.Check(t, slow.Holder, busy.ID, other.ID, requestsPerAccount, get)
	})
}
