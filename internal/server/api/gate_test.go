package api

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
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// slowAccounts is a Store whose GetAccount holds every request until
// released and records how many ran at once, per account.
type slowAccounts struct {
	Store
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
		slow := &slowAccounts{Store: st, release: make(chan struct{}), running: map[string]int{}, most: map[string]int{}}
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
		const n = 20
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if st := get(busy.ID); st != http.StatusOK {
					t.Errorf("busy account: HTTP %d", st)
				}
			})
		}
		// Wait until the busy account's turns are taken, then check that
		// another account still gets in.
		deadline := time.Now().Add(time.Minute)
		for {
			slow.mu.Lock()
			r := slow.running[busy.ID]
			slow.mu.Unlock()
			if r >= requestsPerAccount || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		otherDone := make(chan int)
		go func() { otherDone <- get(other.ID) }()
		deadline = time.Now().Add(time.Minute)
		for {
			slow.mu.Lock()
			r := slow.running[other.ID]
			slow.mu.Unlock()
			if r == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(slow.release)
		wg.Wait()
		if st := <-otherDone; st != http.StatusOK {
			t.Errorf("other account: HTTP %d", st)
		}
		if slow.most[busy.ID] != requestsPerAccount || slow.most[other.ID] != 1 {
			t.Errorf("at most %d requests of the busy account ran at once (want %d), %d of the other (want 1)",
				slow.most[busy.ID], requestsPerAccount, slow.most[other.ID])
		}
	})
}
