package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
)

// IdemTTL is how long an answer to a request with Idempotency-Key is kept.
const IdemTTL = 24 * time.Hour

// GetIdem implements Idempotency. Records older than IdemTTL are not found.
func (s *Store) GetIdem(ctx context.Context, accountID, key string) (IdemRecord, error) {
	var rec IdemRecord
	err := s.DB.QueryRow(ctx, `SELECT request_hash, status, body FROM idempotency_keys
		WHERE account_id = ? AND key = ? AND created_at > ?`,
		accountID, key, nanos(s.now().Add(-IdemTTL))).Scan(&rec.RequestHash, &rec.Status, &rec.Body)
	if err != nil {
		return IdemRecord{}, readErr(err, "read idempotency record")
	}
	if rec.Body == nil {
		rec.Body = []byte{}
	}
	return rec, nil
}

// PutIdem implements Idempotency. The first answer stored for a key is
// kept until it expires; an expired record is replaced.
func (s *Store) PutIdem(ctx context.Context, accountID, key string, rec IdemRecord) error {
	now := s.now()
	body := rec.Body
	if body == nil {
		body = []byte{}
	}
	_, err := s.DB.Exec(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, status, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, key) DO UPDATE SET request_hash = excluded.request_hash,
			status = excluded.status, body = excluded.body, created_at = excluded.created_at
		WHERE idempotency_keys.created_at <= ?`,
		accountID, key, rec.RequestHash, rec.Status, body, nanos(now), nanos(now.Add(-IdemTTL)))
	if err != nil {
		return fmt.Errorf("store idempotency record: %w", err)
	}
	return nil
}

// PurgeIdem deletes expired idempotency records and returns how many. The
// dispatcher calls it now and then; expired records are ignored anyway.
func (s *Store) PurgeIdem(ctx context.Context) (int64, error) {
	r, err := s.DB.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at <= ?`, nanos(s.now().Add(-IdemTTL)))
	if err != nil {
		return 0, fmt.Errorf("purge idempotency records: %w", err)
	}
	return r.RowsAffected()
}

// LockIdem implements Idempotency with a PostgreSQL advisory lock named by
// the first 8 bytes of SHA-256(accountID, key): two keys that share them
// merely take turns.
func (s *Store) LockIdem(ctx context.Context, accountID, key string) (func(), error) {
	if s.DB.Dialect != db.Postgres {
		return func() {}, nil
	}
	h := sha256.New()
	h.Write([]byte("idempotency\x00" + accountID + "\x00" + key))
	unlock, err := s.DB.Lock(ctx, int64(binary.BigEndian.Uint64(h.Sum(nil))))
	if err != nil {
		return nil, fmt.Errorf("lock idempotency key: %w", err)
	}
	return unlock, nil
}
