package authn

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Gate bounds how many requests of one account run at once in this
// process. The heaviest answers (a page of 200 printers with 64 supplies
// each is several megabytes) are bounded one by one; without a gate, one
// account sending a hundred of them at once holds a hundred in memory.
// Requests past the bound wait for a turn.
type Gate struct {
	// PerAccount is how many requests of an account run at once.
	PerAccount int
	// Wait is how long a request waits for a turn before it is refused.
	Wait time.Duration

	mu    sync.Mutex
	slots map[string]*slot
}

type slot struct {
	ch    chan struct{}
	users int // requests running or waiting
}

// Enter waits for a turn of the account's requests and returns the
// function that ends it; ok is false when no turn came within Wait (or
// ctx ended), and then there is nothing to end.
func (g *Gate) Enter(ctx context.Context, accountID string) (leave func(), ok bool) {
	g.mu.Lock()
	if g.slots == nil {
		g.slots = map[string]*slot{}
	}
	s := g.slots[accountID]
	if s == nil {
		s = &slot{ch: make(chan struct{}, max(g.PerAccount, 1))}
		g.slots[accountID] = s
	}
	s.users++
	g.mu.Unlock()
	done := func() {
		g.mu.Lock()
		if s.users--; s.users == 0 {
			delete(g.slots, accountID)
		}
		g.mu.Unlock()
	}
	t := time.NewTimer(g.Wait)
	defer t.Stop()
	select {
	case s.ch <- struct{}{}:
		return func() { <-s.ch; done() }, true
	case <-t.C:
	case <-ctx.Done():
	}
	done()
	return nil, false
}

// HistoryReads is a gate for the answers that read an enrollment's level
// history with a forecast per supply (up to 64 supplies of 1000 changes:
// megabytes, and a second of CPU, each): n of them run at once in this
// process whatever the account (0: two per CPU), so that many accounts
// asking at once cannot hold more in memory. Enter it with the key
// HistoryKey.
func HistoryReads(n int, wait time.Duration) *Gate {
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	return &Gate{PerAccount: n, Wait: wait}
}

// HistoryKey is the one key of a HistoryReads gate.
const HistoryKey = "level-history"
