package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := New(0, 0)
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry its parameters", enc)
	}
	enc2, _ := h.Hash(ctx, "correct horse battery")
	if enc == enc2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if ok, err := h.Verify(ctx, enc, "correct horse battery"); !ok || err != nil {
		t.Errorf("verify right password = %v, %v", ok, err)
	}
	if ok, err := h.Verify(ctx, enc, "correct horse batterz"); ok || err != nil {
		t.Errorf("verify wrong password = %v, %v", ok, err)
	}
	if err := h.Spend(ctx, "x"); err != nil {
		t.Errorf("Spend: %v", err)
	}
	if n := h.Count(); n != 5 {
		t.Errorf("Count = %d after 5 hashes", n)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=8,t=1,p=1$!!$AAAA"} {
		if _, err := h.Verify(ctx, bad, "x"); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) error = %v, want ErrMalformed", bad, err)
		}
	}
	if n := h.Count(); n != 5 {
		t.Errorf("malformed hashes were computed: Count = %d", n)
	}
}

// TestTurns holds every turn of a Hasher and checks that further hashes
// wait, and are refused with ErrBusy past the wait or when the request
// ends; with turns free, every caller gets one in time.
func TestTurns(t *testing.T) {
	ctx := context.Background()
	h := New(2, 50*time.Millisecond)
	// Take both turns as two long hashes would.
	h.turns <- struct{}{}
	h.turns <- struct{}{}
	if err := h.Spend(ctx, "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("hash with every turn taken: err = %v, want ErrBusy", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	hb := New(1, time.Hour)
	hb.turns <- struct{}{}
	if err := hb.Spend(cctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting for a turn with a cancelled request: err = %v", err)
	}
	<-h.turns
	<-h.turns
	if h.Count() != 0 {
		t.Fatalf("Count = %d, no hash ran", h.Count())
	}

	// Many callers at once, with a generous wait: all get a turn.
	h = New(2, time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- h.Spend(ctx, "x")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if h.Count() != 8 {
		t.Errorf("Count = %d, want 8", h.Count())
	}
}
