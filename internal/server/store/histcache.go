package store

import (
	"database/sql"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
)

// The level report's history cache. The forecast policy decides each
// supply from its kept level changes (readHistorySQL), and reading them at
// every report was most of a report's work: hundreds of rows a report to
// find, send and scan, where usually none has changed since the last one.
// A replica keeps the changes it last read or wrote of an enrollment, and
// a report checks them against the database instead of reading them: one
// index probe per supply for its newest change (newestChangesSQL), in the
// same round trip. The cache is exact, not a guess:
//
//   - level_history of a supply grows only at its newest end, by a report
//     holding the enrollment's row lock, with a read time later than any
//     before (reports older than the stored level change nothing). So when
//     the newest change in the database is the cached one, nothing was
//     added since, by this replica or another.
//   - Changes are deleted only at the oldest end (a supply's changes
//     beyond MaxReadingsPerSupply, and the janitor's retention), or all of
//     a supply no longer reported. The cache keeps the latest
//     MaxReadingsPerSupply within the window it was read with, as the
//     query does, and drops supplies a report does not name. The janitor's
//     deletions are older than any window a report reads while the
//     retention is longer than the window and the oldest reading time
//     accepted (historyCacheMinRetention); with a shorter retention the
//     cache is off.
//
// Any doubt (a change it does not hold, a report reading further back than
// the cache was read, an error in the report) reads the history as before
// and refills the entry.

// historyCacheMinRetention is the shortest level history retention with
// which the cache is exact (see above).
const historyCacheMinRetention = forecastWindow + arsapi.MaxReadAtAge + 24*time.Hour

// historyCacheMaxReadings bounds the cache's memory: about 32 bytes a
// reading, so 32 MB. Entries are dropped, any of them, to make room.
const historyCacheMaxReadings = 1 << 20

// historyCache is the level report's history cache, nil (off) when the
// level history's retention is too short for it to be exact.
func (s *Store) historyCache() *historyCache {
	if r := s.HistoryRetention; r != 0 && r < historyCacheMinRetention {
		return nil
	}
	return s.hist
}

// historyEntry is the level changes of an enrollment's supplies kept by
// this replica: those read at or after from (nanoseconds), the latest
// MaxReadingsPerSupply of each supply, oldest first. An entry is never
// changed once stored: a report stores a new one.
type historyEntry struct {
	from     int64
	supplies map[string][]forecast.Reading
	readings int
}

// historyCache is the report path's cache of level changes per enrollment.
type historyCache struct {
	mu       sync.Mutex
	entries  map[string]*historyEntry
	readings int
	max      int
}

func newHistoryCache(maxReadings int) *historyCache {
	return &historyCache{entries: map[string]*historyEntry{}, max: maxReadings}
}

// get returns the enrollment's entry when it holds every change a report
// reading from windowStart needs (it was read from windowStart or earlier).
func (c *historyCache) get(enrollmentID string, windowStart int64) *historyEntry {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[enrollmentID]
	if e == nil || e.from > windowStart {
		return nil
	}
	return e
}

// put stores the enrollment's entry, dropping others when the cache is
// full; an entry larger than the whole cache is not kept.
func (c *historyCache) put(enrollmentID string, e *historyEntry) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(enrollmentID)
	if e.readings > c.max {
		return
	}
	for id := range c.entries {
		if c.readings+e.readings <= c.max {
			break
		}
		c.remove(id)
	}
	c.entries[enrollmentID] = e
	c.readings += e.readings
}

// drop forgets the enrollment's entry.
func (c *historyCache) drop(enrollmentID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(enrollmentID)
}

// remove forgets the enrollment's entry; c.mu is held.
func (c *historyCache) remove(enrollmentID string) {
	if old := c.entries[enrollmentID]; old != nil {
		c.readings -= old.readings
		delete(c.entries, enrollmentID)
	}
}

// newestChangeSQL reads a supply's newest kept level change read at or
// after a time (no row when none): one index probe, which checks a cached
// history. newestChangesSQL does it for several supplies at once on
// PostgreSQL.
const newestChangeSQL = `SELECT read_at, level FROM level_history
	WHERE enrollment_id = ? AND supply = ? AND read_at >= ? ORDER BY read_at DESC LIMIT 1`

// holdsNewest reports whether the supply's newest change in the database
// (at and level, NULL for none) is the entry's newest: then level_history
// holds no change of the supply that the entry lacks.
func (e *historyEntry) holdsNewest(supply string, at, level sql.NullInt64) bool {
	rs := e.supplies[supply]
	if len(rs) == 0 {
		return !at.Valid
	}
	r := rs[len(rs)-1]
	return at.Valid && nanos(r.At) == at.Int64 && int64(r.Level) == level.Int64
}

// window is the entry's changes a report reading from windowStart uses,
// as readHistorySQL would return them. The slices are shared: read only.
func (e *historyEntry) window(windowStart int64) map[string][]forecast.Reading {
	start := fromNanos(windowStart)
	out := make(map[string][]forecast.Reading, len(e.supplies))
	for name, rs := range e.supplies {
		i := sort.Search(len(rs), func(i int) bool { return !rs[i].At.Before(start) })
		if i < len(rs) {
			out[name] = rs[i:]
		}
	}
	return out
}

// afterReport is the entry of an enrollment after a committed report
// whose history, read from windowStart, was history: each supply of the
// report keeps its changes with the report's new one added (the latest
// MaxReadingsPerSupply), and supplies it does not name are gone, as
// level_history has them.
func afterReport(windowStart int64, history map[string][]forecast.Reading, write []levelRow) *historyEntry {
	e := &historyEntry{from: windowStart, supplies: make(map[string][]forecast.Reading, len(write))}
	for _, r := range write {
		rs := history[r.sp.Name]
		if r.changed {
			rs = append(slices.Clip(rs), forecast.Reading{At: fromNanos(r.g.ReadAt), Level: r.sp.Level})
		}
		if n := len(rs); n > MaxReadingsPerSupply {
			rs = rs[n-MaxReadingsPerSupply:]
		}
		if len(rs) > 0 {
			e.supplies[r.sp.Name] = rs
			e.readings += len(rs)
		}
	}
	return e
}
