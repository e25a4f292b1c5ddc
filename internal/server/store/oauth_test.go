package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/servertest"
)

func oauthStore(t *testing.T, d *db.DB) (*Store, *servertest.Clock, string) {
	t.Helper()
	s := New(d)
	c := servertest.NewClock(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	s.Now = c.Now
	a, err := s.CreateAccount(context.Background(), "owner@example.com", "correct horse battery", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	return s, c, a.ID
}

func TestEnsureOAuthKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _, _ := oauthStore(t, d)
		ctx := context.Background()
		var wg sync.WaitGroup
		keys := make([]OAuthKey, 8)
		errs := make([]error, 8)
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys[i], errs[i] = s.EnsureOAuthKey(ctx, "signing", func() (string, string, []byte, error) {
					return "kid-" + string(rune('a'+i)), "ES256", []byte{byte(i)}, nil
				})
			}()
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if keys[i].KID != keys[0].KID || string(keys[i].Material) != string(keys[0].Material) {
				t.Fatalf("replicas got different keys: %+v vs %+v", keys[i], keys[0])
			}
		}
		again, err := s.EnsureOAuthKey(ctx, "signing", func() (string, string, []byte, error) {
			t.Error("generator called for an existing key")
			return "", "", nil, nil
		})
		if err != nil || again.KID != keys[0].KID {
			t.Fatalf("EnsureOAuthKey again = %+v, %v", again, err)
		}
	})
}

func TestAuthCodeSingleUse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, c, acct := oauthStore(t, d)
		ctx := context.Background()
		a := AuthRequest{ID: "req1", ClientID: "arsctl", RedirectURI: "http://127.0.0.1:5000/callback",
			Scopes: []string{"openid", "ars"}, ResponseType: "code", CodeChallenge: "abc", CodeChallengeMethod: "S256",
			CreatedAt: c.Now(), ExpiresAt: c.Now().Add(10 * time.Minute)}
		if err := s.CreateAuthRequest(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveAuthCode(ctx, "req1", "code-1", time.Minute); !errors.Is(err, ErrNotFound) {
			t.Fatalf("code saved before sign-in: %v", err)
		}
		if err := s.CompleteAuthRequest(ctx, "req1", acct); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveAuthCode(ctx, "req1", "code-1", time.Minute); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimAuthCode(ctx, "code-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.AccountID != acct || !got.Done || got.CodeChallenge != "abc" || len(got.Scopes) != 2 {
			t.Fatalf("claimed = %+v", got)
		}
		if _, err := s.ClaimAuthCode(ctx, "code-1"); !errors.Is(err, ErrTokenReused) {
			t.Fatalf("second claim = %v, want ErrTokenReused", err)
		}
		if _, err := s.ClaimAuthCode(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown code = %v", err)
		}

		// An unused code expires.
		b := a
		b.ID = "req2"
		if err := s.CreateAuthRequest(ctx, b); err != nil {
			t.Fatal(err)
		}
		_ = s.CompleteAuthRequest(ctx, "req2", acct)
		if err := s.SaveAuthCode(ctx, "req2", "code-2", time.Minute); err != nil {
			t.Fatal(err)
		}
		c.Add(2 * time.Minute)
		if _, err := s.ClaimAuthCode(ctx, "code-2"); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("expired code = %v", err)
		}
	})
}

func TestDeviceAuthorizationStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, c, acct := oauthStore(t, d)
		ctx := context.Background()
		dev := DeviceAuthorization{UserCode: "BCDF-GHJK", ClientID: "arsctl", Scopes: []string{"openid", "ars"},
			Interval: 5 * time.Second, ExpiresAt: c.Now().Add(10 * time.Minute)}
		if err := s.StoreDeviceAuthorization(ctx, "dc-1", dev); err != nil {
			t.Fatal(err)
		}
		if err := s.StoreDeviceAuthorization(ctx, "dc-2", dev); !errors.Is(err, ErrUserCodeTaken) {
			t.Fatalf("duplicate user code = %v", err)
		}
		// Polling: first poll fine, an immediate second one slows down.
		slow, iv, err := s.PollDevice(ctx, "dc-1")
		if err != nil || slow || iv != 5*time.Second {
			t.Fatalf("first poll = %v %v %v", slow, iv, err)
		}
		c.Add(time.Second)
		slow, iv, err = s.PollDevice(ctx, "dc-1")
		if err != nil || !slow || iv != 10*time.Second {
			t.Fatalf("fast poll = %v %v %v", slow, iv, err)
		}
		c.Add(10 * time.Second)
		if slow, _, err = s.PollDevice(ctx, "dc-1"); err != nil || slow {
			t.Fatalf("patient poll = %v %v", slow, err)
		}
		if _, _, err := s.PollDevice(ctx, "unknown"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown poll = %v", err)
		}
		if err := s.ConsumeDevice(ctx, "dc-1"); !errors.Is(err, ErrTokenReused) {
			t.Fatalf("consume pending = %v", err)
		}
		if err := s.DecideDevice(ctx, "BCDF-GHJK", acct, true); err != nil {
			t.Fatal(err)
		}
		if err := s.DecideDevice(ctx, "BCDF-GHJK", acct, false); !errors.Is(err, ErrDeviceDecided) {
			t.Fatalf("second decision = %v", err)
		}
		got, err := s.GetDeviceAuthorization(ctx, "dc-1")
		if err != nil || got.State != DeviceApproved || got.AccountID != acct {
			t.Fatalf("approved = %+v, %v", got, err)
		}
		if err := s.ConsumeDevice(ctx, "dc-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.ConsumeDevice(ctx, "dc-1"); !errors.Is(err, ErrTokenReused) {
			t.Fatalf("consume twice = %v", err)
		}
		// After expiry the user code is unknown and may be reissued.
		c.Add(11 * time.Minute)
		if err := s.DecideDevice(ctx, "BCDF-GHJK", acct, true); !errors.Is(err, ErrNotFound) {
			t.Fatalf("decide expired = %v", err)
		}
		dev.ExpiresAt = c.Now().Add(10 * time.Minute)
		if err := s.StoreDeviceAuthorization(ctx, "dc-3", dev); err != nil {
			t.Fatalf("reuse expired user code: %v", err)
		}
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, c, acct := oauthStore(t, d)
		ctx := context.Background()
		g := TokenGrant{AccountID: acct, ClientID: "arsctl", Scopes: []string{"openid", "offline_access", "ars"}, AuthTime: c.Now()}
		t1, err := s.IssueTokens(ctx, g, 15*time.Minute, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckAccessToken(ctx, t1.AccessID); err != nil {
			t.Fatal(err)
		}
		rt, err := s.GetRefreshToken(ctx, t1.RefreshToken)
		if err != nil || rt.FamilyID != t1.FamilyID || len(rt.Grant.Scopes) != 3 {
			t.Fatalf("GetRefreshToken = %+v, %v", rt, err)
		}
		t2, err := s.RotateRefreshToken(ctx, t1.RefreshToken, g, 15*time.Minute, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if t2.RefreshToken == t1.RefreshToken || t2.FamilyID != t1.FamilyID {
			t.Fatalf("rotation kept the token or changed family")
		}
		// Reusing the first token revokes the family: t2's tokens die too.
		if _, err := s.RotateRefreshToken(ctx, t1.RefreshToken, g, 15*time.Minute, 24*time.Hour); !errors.Is(err, ErrTokenReused) {
			t.Fatalf("reuse = %v", err)
		}
		if _, err := s.GetRefreshToken(ctx, t2.RefreshToken); !errors.Is(err, ErrTokenRevoked) {
			t.Fatalf("t2 refresh after reuse = %v", err)
		}
		if _, err := s.CheckAccessToken(ctx, t2.AccessID); !errors.Is(err, ErrTokenRevoked) {
			t.Fatalf("t2 access after reuse = %v", err)
		}

		// Concurrent use of one token: exactly one rotation wins.
		t3, err := s.IssueTokens(ctx, g, 15*time.Minute, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.RotateRefreshToken(ctx, t3.RefreshToken, g, time.Minute, time.Hour); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d concurrent rotations succeeded, want 1", wins)
		}

		// Expiry.
		t4, err := s.IssueTokens(ctx, g, 15*time.Minute, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c.Add(16 * time.Minute)
		if _, err := s.CheckAccessToken(ctx, t4.AccessID); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("expired access = %v", err)
		}
		c.Add(time.Hour)
		if _, err := s.GetRefreshToken(ctx, t4.RefreshToken); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("expired refresh = %v", err)
		}
		if err := s.PurgeOAuth(ctx, c.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetAccessToken(ctx, t4.AccessID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("purged access token = %v", err)
		}
	})
}

func TestAPITokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, c, acct := oauthStore(t, d)
		ctx := context.Background()
		other, err := s.CreateAccount(ctx, "other@example.com", "another long password", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateAPIToken(ctx, acct, "  ", 0); err == nil {
			t.Fatal("empty name accepted")
		}
		raw, tok, err := s.CreateAPIToken(ctx, acct, "fleet enrollment", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) < 40 || raw[:len(APITokenPrefix)] != APITokenPrefix || tok.Hint != raw[len(raw)-4:] {
			t.Fatalf("token %q / %+v", raw[:len(APITokenPrefix)], tok)
		}
		got, err := s.CheckAPIToken(ctx, raw)
		if err != nil || got != acct {
			t.Fatalf("CheckAPIToken = %q, %v", got, err)
		}
		if _, err := s.CheckAPIToken(ctx, raw+"x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("wrong token = %v", err)
		}
		list, err := s.ListAPITokens(ctx, acct)
		if err != nil || len(list) != 1 || list[0].LastUsedAt.IsZero() {
			t.Fatalf("list = %+v, %v", list, err)
		}
		if err := s.RevokeAPIToken(ctx, other.ID, tok.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other account revoked it: %v", err)
		}
		if err := s.RevokeAPIToken(ctx, acct, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckAPIToken(ctx, raw); !errors.Is(err, ErrTokenRevoked) {
			t.Fatalf("revoked = %v", err)
		}
		raw2, _, err := s.CreateAPIToken(ctx, acct, "ci", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c.Add(2 * time.Hour)
		if _, err := s.CheckAPIToken(ctx, raw2); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("expired api token = %v", err)
		}
	})
}

// TestAPITokensPerAccount: an account cannot pile up API tokens (each one
// a row, and a line of every GET /v1/tokens): past MaxAPITokens live ones
// a new token is refused, also when many are asked for at once; revoked
// tokens make room.
func TestAPITokensPerAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _, acct := oauthStore(t, d)
		ctx := context.Background()
		var first string
		for i := range MaxAPITokens - 10 {
			_, tok, err := s.CreateAPIToken(ctx, acct, fmt.Sprintf("t%d", i), 0)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = tok.ID
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		refused := 0
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := s.CreateAPIToken(ctx, acct, fmt.Sprintf("p%d", i), 0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, ErrTooManyAPITokens):
					refused++
				case err != nil:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		list, err := s.ListAPITokens(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != MaxAPITokens || refused != 20 {
			t.Fatalf("%d tokens kept, %d of 30 refused; want %d kept, 20 refused", len(list), refused, MaxAPITokens)
		}
		if err := s.RevokeAPIToken(ctx, acct, first); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateAPIToken(ctx, acct, "after revoking one", 0); err != nil {
			t.Fatalf("create after revoking one: %v", err)
		}
		if list, _ := s.ListAPITokens(ctx, acct); len(list) != MaxAPITokens {
			t.Errorf("%d tokens listed, want %d", len(list), MaxAPITokens)
		}
		if _, _, err := s.CreateAPIToken(ctx, acct, "one too many", 0); !errors.Is(err, ErrTooManyAPITokens) {
			t.Errorf("101st live token: %v, want ErrTooManyAPITokens", err)
		}
	})
}
