// Package core is arsd's domain core: the enrollment rules (create with
// eligibility, level reports with their validation and the order
// decision, cancel with reasons, threshold, pause) in Service, which the
// API (internal/server/api) and the web pages (internal/server/web) both
// call, and the vocabulary they share with the store without importing it:
// errors, the store's interfaces (ports) and their types, and the Order
// that leaves arsd for fulfilment.
//
// The store (internal/server/store) implements the ports and returns
// these errors; the order decision itself is package reorder, which the
// store runs inside a report's transaction.
package core
