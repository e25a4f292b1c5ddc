// Package gatetest checks from outside that a server runs an account's
// requests a few at a time (authn.Gate): a busy account waits its turn,
// and another account is not held up by it.
package gatetest

import (
	"sync"
	"testing"
	"time"
)

// Holder holds every request that reaches it until Check releases them,
// and counts how many of each account were held at once. A test puts it
// in the server's path behind the gate, e.g. in the store's GetAccount.
type Holder struct {
	release chan struct{}
	mu      sync.Mutex
	running map[string]int
	most    map[string]int
}

// NewHolder returns a Holder that holds requests until Check releases them.
func NewHolder() *Holder {
	return &Holder{release: make(chan struct{}), running: map[string]int{}, most: map[string]int{}}
}

// Hold counts a request of the account as running and blocks it until
// Check releases every request.
func (h *Holder) Hold(accountID string) {
	h.mu.Lock()
	h.running[accountID]++
	h.most[accountID] = max(h.most[accountID], h.running[accountID])
	h.mu.Unlock()
	<-h.release
	h.mu.Lock()
	h.running[accountID]--
	h.mu.Unlock()
}

// waitRunning waits, for a minute at most, until n requests of the
// account are held.
func (h *Holder) waitRunning(accountID string, n int) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		r := h.running[accountID]
		h.mu.Unlock()
		if r >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Check sends 20 requests of the busy account at once, waits until perAccount
// of them are held, sends one of the other account and waits until it is
// held too, then releases them all. Every request must be answered 200, at
// most perAccount of the busy account may have run at once, and the other
// account's request must have run beside them. get sends one request of
// the account and returns its HTTP status.
func Check(t *testing.T, h *Holder, busy, other string, perAccount int, get func(accountID string) int) {
	t.Helper()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if st := get(busy); st != 200 {
				t.Errorf("busy account: HTTP %d", st)
			}
		})
	}
	h.waitRunning(busy, perAccount)
	otherDone := make(chan int)
	go func() { otherDone <- get(other) }()
	h.waitRunning(other, 1)
	close(h.release)
	wg.Wait()
	if st := <-otherDone; st != 200 {
		t.Errorf("other account: HTTP %d", st)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.most[busy] != perAccount || h.most[other] != 1 {
		t.Errorf("%d requests of the busy account ran at once (want %d), %d of the other (want 1)",
			h.most[busy], perAccount, h.most[other])
	}
}
