package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/authn/gatetest"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// slowAccounts is a Store whose GetAccount is held by a gatetest.Holder.
type slowAccounts struct {
	*store.Store
	*gatetest.Holder
}

func (s slowAccounts) GetAccount(ctx context.Context, id string) (arsapi.Account, error) {
	s.Hold(id)
	return s.Store.GetAccount(ctx, id)
}

// TestAccountPagesMadeFewAtOnce: View Printer Details draws a chart of up
// to 1000 readings for each of 64 supplies (seconds of work, megabytes);
// one account loading it many times at once made them all at once. Pages
// of an account are now made a few at a time, the others wait their turn,
// and another account is not held up.
func TestAccountPagesMadeFewAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		st := store.New(d)
		ctx := context.Background()
		sessions := map[string]string{} // account ID → session
		var ids []string
		for _, email := range []string{"busy@example.com", "other@example.com"} {
			a, err := st.CreateAccount(ctx, email, "correct horse battery", "")
			if err != nil {
				t.Fatal(err)
			}
			sid, _, err := st.CreateSession(ctx, a.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			sessions[a.ID], ids = sid, append(ids, a.ID)
		}
		cat, err := catalogue.New(catalogue.Config{}, "http://127.0.0.1:8787")
		if err != nil {
			t.Fatal(err)
		}
		c, err := core.New(core.Config{Store: st, Catalogue: cat})
		if err != nil {
			t.Fatal(err)
		}
		slow := slowAccounts{Store: st, Holder: gatetest.NewHolder()}
		w, err := web.New(web.Options{Store: slow, Core: c, Catalogue: cat, PublicURL: "http://127.0.0.1:8787"})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		w.Routes(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		get := func(accountID string) int {
			req, _ := http.NewRequest("GET", srv.URL+web.SubscriptionsPath, nil)
			req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: sessions[accountID]})
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return 0
			}
			res.Body.Close()
			return res.StatusCode
		}
		gatetest.Check(t, slow.Holder, ids[0], ids[1], 4, get)
	})
}
