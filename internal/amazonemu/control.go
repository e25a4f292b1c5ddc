package amazonemu

import (
	"net/http"
	"strconv"
)

// controlRoutes registers the test controls, for tests that run the
// emulator as a separate process (cmd/amazonemu) and cannot call its
// methods:
//
//	GET  /_emu/state                      Snapshot as JSON
//	POST /_emu/expire?serial=S            ExpireAccessTokens
//	POST /_emu/revoke?serial=S            RevokeRefresh
//	POST /_emu/deliver?serial=S&slot=X    Deliver
//	POST /_emu/auto-approve?on=true|false SetAutoApprove
//
// They answer {"affected": n} where it applies. They are not part of
// Amazon's API and exist only in the emulator.
func (e *Emulator) controlRoutes() {
	e.mux.HandleFunc("GET /_emu/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, "", e.Snapshot())
	})
	e.mux.HandleFunc("POST /_emu/expire", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, "", map[string]int{"affected": e.ExpireAccessTokens(r.URL.Query().Get("serial"))})
	})
	e.mux.HandleFunc("POST /_emu/revoke", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, "", map[string]int{"affected": e.RevokeRefresh(r.URL.Query().Get("serial"))})
	})
	e.mux.HandleFunc("POST /_emu/deliver", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		writeJSON(w, http.StatusOK, "", map[string]int{"affected": e.Deliver(q.Get("serial"), q.Get("slot"))})
	})
	e.mux.HandleFunc("POST /_emu/auto-approve", func(w http.ResponseWriter, r *http.Request) {
		on, err := strconv.ParseBool(r.URL.Query().Get("on"))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, "", map[string]string{"message": "on must be true or false"})
			return
		}
		e.SetAutoApprove(on)
		writeJSON(w, http.StatusOK, "", map[string]bool{"auto_approve": on})
	})
}
