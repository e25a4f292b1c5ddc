package db_test

import (
	"context"
	"testing"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
)

// TestOrderInboxMigration: on a database from before the order inbox, an
// order that went nowhere ("placed", fulfilment "none", out of the
// outbox) becomes "unfulfilled" in the inbox with an event saying why; an
// order still in the outbox and a shipped one are left alone; and the new
// states are accepted, unknown ones refused. The migration also goes down.
func TestOrderInboxMigration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.MigrateDownTo(ctx, 7); err != nil {
			t.Fatalf("down to 7: %v", err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := d.Exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO enrollments (id, account_id, provider, state, model, serial, serial_key, terms_version, threshold, created_at, updated_at)
			VALUES ('e1', 'a1', 'canon', 'active', 'TS8320', 'KNMA1', 'KNMA1', '1', 15, 1, 1)`)
		for _, o := range []struct {
			id, state, fulfilment string
			next                  any
		}{{"went-nowhere", "placed", "none", nil}, {"in-outbox", "placed", "none", 5}, {"shipped", "shipped", "webhook", nil}} {
			exec(`INSERT INTO orders (id, enrollment_id, account_id, supply, cycle, level_at_order, state, fulfilment, created_at, updated_at, next_attempt_at)
				VALUES (?, 'e1', 'a1', ?, 0, 5, ?, ?, 1, 2, ?)`, o.id, o.id, o.state, o.fulfilment, o.next)
			exec(`INSERT INTO order_events (order_id, at, state, detail) VALUES (?, 1, 'placed', 'C at 5%')`, o.id)
		}
		if err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("up: %v", err)
		}
		for id, want := range map[string]string{"went-nowhere": "unfulfilled/inbox/2", "in-outbox": "placed/none/1", "shipped": "shipped/webhook/1"} {
			var state, fulfilment string
			var events int
			if err := d.QueryRow(ctx, `SELECT state, fulfilment, (SELECT COUNT(*) FROM order_events WHERE order_id = o.id) FROM orders o WHERE id = ?`, id).
				Scan(&state, &fulfilment, &events); err != nil {
				t.Fatal(err)
			}
			if got := state + "/" + fulfilment + "/" + string(rune('0'+events)); got != want {
				t.Errorf("%s: %s, want %s", id, got, want)
			}
		}
		exec(`UPDATE orders SET state = 'bought' WHERE id = 'went-nowhere'`)
		if _, err := d.Exec(ctx, `UPDATE orders SET state = 'lost' WHERE id = 'shipped'`); err == nil {
			t.Error("an unknown order state was stored")
		}
		if err := d.MigrateDownTo(ctx, 7); err != nil {
			t.Fatalf("down again: %v", err)
		}
		var state string
		if err := d.QueryRow(ctx, `SELECT state FROM orders WHERE id = 'went-nowhere'`).Scan(&state); err != nil || state != "placed" {
			t.Errorf("after down: %q, %v", state, err)
		}
	})
}
