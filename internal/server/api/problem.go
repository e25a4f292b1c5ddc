package api

import (
	"encoding/json"
	"net/http"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// problem builds an RFC 9457 problem document.
func problem(status int, code, detail string) *arsapi.Problem {
	return &arsapi.Problem{Status: status, Title: http.StatusText(status), Code: code, Detail: detail}
}

// writeProblem answers with a problem document. 401 answers carry
// WWW-Authenticate: Bearer.
func writeProblem(w http.ResponseWriter, r *http.Request, p *arsapi.Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	if p.Status == http.StatusUnauthorized {
		v := `Bearer realm="arsd"`
		if r != nil && r.Header.Get("Authorization") != "" {
			v += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", v)
	}
	writeJSONType(w, p.Status, "application/problem+json", p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/json", v)
}

func writeJSONType(w http.ResponseWriter, status int, ctype string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		ctype = "application/problem+json"
		b = []byte(`{"title":"Internal Server Error","status":500,"code":"internal"}`)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
