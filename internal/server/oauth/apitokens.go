package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/arsctl/arsctl/internal/server/jsonbody"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// MaxAPITokenDays is the longest life of an API token, in days.
const MaxAPITokenDays = arsapi.MaxAPITokenDays

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	if status == http.StatusUnauthorized {
		v := `Bearer realm="arsd"`
		if r.Header.Get("Authorization") != "" {
			v += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", v)
	}
	p := arsapi.Problem{Status: status, Title: http.StatusText(status), Code: code, Detail: detail, Instance: r.URL.Path}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// tokenOwner authenticates a request managing API tokens: only a
// sign-in (an OAuth access token), not an API token, may create or
// revoke API tokens, so that a leaked script token cannot mint others.
func (s *Server) tokenOwner(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok, ok := bearer(r)
	if !ok {
		writeProblem(w, r, http.StatusUnauthorized, arsapi.CodeUnauthenticated, ErrNoToken.Error())
		return "", false
	}
	acct, isAPI, err := s.check(r.Context(), tok)
	if err != nil {
		writeProblem(w, r, http.StatusUnauthorized, arsapi.CodeUnauthenticated, "the bearer token is invalid or expired; sign in again")
		return "", false
	}
	if isAPI {
		writeProblem(w, r, http.StatusForbidden, arsapi.CodeForbidden, "API tokens cannot manage API tokens; sign in with `arsctl auth login`")
		return "", false
	}
	return acct, true
}

func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.tokenOwner(w, r)
	if !ok {
		return
	}
	var req arsapi.CreateAPITokenRequest
	body, p := jsonbody.Read(w, r)
	if p == nil {
		p = jsonbody.Decode(r, body, &req)
	}
	if p != nil {
		writeProblem(w, r, p.Status, p.Code, p.Detail+`; send JSON like {"name":"fleet script","expires_in_days":90}`)
		return
	}
	if req.ExpiresInDays < 0 || req.ExpiresInDays > MaxAPITokenDays {
		writeProblem(w, r, http.StatusUnprocessableEntity, arsapi.CodeInvalid, fmt.Sprintf("expires_in_days must be between 0 (never) and %d", MaxAPITokenDays))
		return
	}
	raw, t, err := s.st.CreateAPIToken(r.Context(), acct, req.Name, time.Duration(req.ExpiresInDays)*24*time.Hour)
	var inv *store.InvalidAccountError
	if errors.As(err, &inv) {
		writeProblem(w, r, http.StatusUnprocessableEntity, arsapi.CodeInvalid, inv.Reason)
		return
	}
	if errors.Is(err, store.ErrTooManyAPITokens) {
		writeProblem(w, r, http.StatusConflict, arsapi.CodeTooManyTokens, err.Error()+" with arsctl auth token revoke ID or DELETE /v1/tokens/{id}")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "create api token", "err", err)
		writeProblem(w, r, http.StatusInternalServerError, arsapi.CodeInternal, "could not create the token")
		return
	}
	s.log.InfoContext(r.Context(), "api token created", "account", acct, "token_id", t.ID)
	writeJSON(w, http.StatusCreated, arsapi.CreatedAPIToken{APIToken: t, Token: raw})
}

func (s *Server) listAPITokens(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.tokenOwner(w, r)
	if !ok {
		return
	}
	list, err := s.st.ListAPITokens(r.Context(), acct)
	if err != nil {
		s.log.ErrorContext(r.Context(), "list api tokens", "err", err)
		writeProblem(w, r, http.StatusInternalServerError, arsapi.CodeInternal, "could not list tokens")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (s *Server) revokeAPIToken(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.tokenOwner(w, r)
	if !ok {
		return
	}
	err := s.st.RevokeAPIToken(r.Context(), acct, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, r, http.StatusNotFound, arsapi.CodeNotFound, "no such token")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "revoke api token", "err", err)
		writeProblem(w, r, http.StatusInternalServerError, arsapi.CodeInternal, "could not revoke the token")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
