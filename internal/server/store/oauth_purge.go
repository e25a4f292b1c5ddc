package store

import (
	"context"
	"fmt"
	"time"
)

// PurgeOAuth deletes OAuth state that can no longer be used: expired
// authorization requests and device codes, and tokens that expired
// before olderThan.
func (s *Store) PurgeOAuth(ctx context.Context, olderThan time.Time) error {
	now := oaNanos(s.Now())
	old := oaNanos(olderThan)
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM oauth_auth_requests WHERE expires_at <= ?`, now},
		{`DELETE FROM oauth_device_codes WHERE expires_at <= ?`, old},
		{`DELETE FROM oauth_access_tokens WHERE expires_at <= ?`, old},
		{`DELETE FROM oauth_refresh_tokens WHERE expires_at <= ?`, old},
	} {
		if _, err := s.DB.Exec(ctx, q.sql, q.arg); err != nil {
			return fmt.Errorf("purge oauth state: %w", err)
		}
	}
	return nil
}
