package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// slowAccounts is a Store whose GetAccount holds every page until
// released and records how many of an account were made at once.
type slowAccounts struct {
	*store.Store
	release chan struct{}
	mu      sync.Mutex
	running map[string]int
	most    map[string]int
}

func (s *slowAccounts) GetAccount(ctx context.Context, id string) (arsapi.Account, error) {
	s.mu.Lock()
	s.running[id]++
	s.most[id] = max(s.most[id], s.running[id])
	s.mu.Unlock()
	<-s.release
	s.mu.Lock()
	s.running[id]--
	s.mu.Unlock()
	return s.Store.GetAccount(ctx, id)
}

func (s *slowAccounts) waitRunning(id string, n int) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		r := s.running[id]
		s.mu.Unlock()
		if r >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
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
		var sessions []string
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
			sessions, ids = append(sessions, sid), append(ids, a.ID)
		}
		cat, err := catalogue.New(catalogue.Config{}, "http://127.0.0.1:8787")
		if err != nil {
			t.Fatal(err)
		}
		c, err := core.New(core.Config{Store: st, Catalogue: cat})
		if err != nil {
			t.Fatal(err)
		}
		slow := &slowAccounts{Store: st, release: make(chan struct{}), running: map[string]int{}, most: map[string]int{}}
		w, err := web.New(web.Options{Store: slow, Core: c, Catalogue: cat, PublicURL: "http://127.0.0.1:8787"})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		w.Routes(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		get := func(session string) int {
			req, _ := http.NewRequest("GET", srv.URL+web.SubscriptionsPath, nil)
			req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: session})
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return 0
			}
			res.Body.Close()
			return res.StatusCode
		}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if st := get(sessions[0]); st != http.StatusOK {
					t.Errorf("busy account: HTTP %d", st)
				}
			})
		}
		slow.waitRunning(ids[0], 4)
		otherDone := make(chan int)
		go func() { otherDone <- get(sessions[1]) }()
		slow.waitRunning(ids[1], 1)
		close(slow.release)
		wg.Wait()
		if st := <-otherDone; st != http.StatusOK {
			t.Errorf("other account: HTTP %d", st)
		}
		if slow.most[ids[0]] > 4 || slow.most[ids[1]] != 1 {
			t.Errorf("%d pages of the busy account were made at once (want at most 4), %d of the other (want 1)", slow.most[ids[0]], slow.most[ids[1]])
		}
	})
}
