package store_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/store"
)

func TestAmazonStates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		exp := time.Now().Add(10 * time.Minute).UTC()
		st := store.AmazonState{StateHash: "h1", EnrollmentID: "e1", AccountID: "a1", Verifier: []byte{0, 1, 2, 255}, ExpiresAt: exp}
		if err := s.PutAmazonState(ctx, st); err != nil {
			t.Fatal(err)
		}
		got, err := s.TakeAmazonState(ctx, "h1")
		if err != nil {
			t.Fatal(err)
		}
		if got.EnrollmentID != "e1" || got.AccountID != "a1" || !bytes.Equal(got.Verifier, st.Verifier) || !got.ExpiresAt.Equal(exp) {
			t.Errorf("got %+v", got)
		}
		if _, err := s.TakeAmazonState(ctx, "h1"); !errors.Is(err, store.ErrUsed) {
			t.Errorf("second take: %v, want ErrUsed", err)
		}
		if _, err := s.TakeAmazonState(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown: %v, want ErrNotFound", err)
		}
	})
}

func TestAmazonStateTakenOnceUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		if err := s.PutAmazonState(ctx, store.AmazonState{StateHash: "c", EnrollmentID: "e", AccountID: "a", Verifier: []byte("v"), ExpiresAt: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 10 {
			wg.Go(func() {
				if _, err := s.TakeAmazonState(ctx, "c"); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if !errors.Is(err, store.ErrUsed) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok != 1 {
			t.Errorf("state taken %d times, want 1", ok)
		}
	})
}

func TestAmazonStartToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		exp := time.Now().Add(time.Hour)
		if err := s.UseAmazonStartToken(ctx, "t1", exp); err != nil {
			t.Fatal(err)
		}
		if err := s.UseAmazonStartToken(ctx, "t1", exp); !errors.Is(err, store.ErrUsed) {
			t.Errorf("second use: %v, want ErrUsed", err)
		}
		if err := s.UseAmazonStartToken(ctx, "t2", exp); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAmazonLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		if _, err := s.GetAmazonLink(ctx, "e1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing link: %v", err)
		}
		exp := time.Now().Add(time.Hour).UTC()
		l := store.AmazonLink{EnrollmentID: "e1", AccountID: "a1", DeviceModel: "m", Serial: "S1", TestDevice: true,
			AccessToken: []byte("sealed-a"), RefreshToken: []byte("sealed-r"), AccessExpiresAt: exp}
		if err := s.PutAmazonLink(ctx, l); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetAmazonLink(ctx, "e1")
		if err != nil {
			t.Fatal(err)
		}
		if !got.TestDevice || got.Serial != "S1" || string(got.AccessToken) != "sealed-a" || !got.AccessExpiresAt.Equal(exp) {
			t.Errorf("got %+v", got)
		}
		// Replacing keeps one row.
		l.TestDevice = false
		l.AccessToken = []byte("sealed-a2")
		if err := s.PutAmazonLink(ctx, l); err != nil {
			t.Fatal(err)
		}
		exp2 := exp.Add(time.Hour)
		if err := s.UpdateAmazonTokens(ctx, "e1", []byte("a3"), []byte("r3"), exp2); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetAmazonLink(ctx, "e1")
		if got.TestDevice || string(got.AccessToken) != "a3" || string(got.RefreshToken) != "r3" || !got.AccessExpiresAt.Equal(exp2) {
			t.Errorf("after update %+v", got)
		}
		if err := s.UpdateAmazonTokens(ctx, "zz", nil, nil, exp2); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update missing: %v", err)
		}
		if err := s.DeleteAmazonLink(ctx, "e1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteAmazonLink(ctx, "e1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetAmazonLink(ctx, "e1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
	})
}
