package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

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

// maxBody is the largest request body the API reads.
const maxBody = 64 << 10

// readBody reads a request body of at most maxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *arsapi.Problem) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, problem(http.StatusRequestEntityTooLarge, arsapi.CodeInvalid,
				fmt.Sprintf("request body is larger than %d bytes", maxBody))
		}
		return nil, problem(http.StatusBadRequest, arsapi.CodeInvalid, "reading request body: "+err.Error())
	}
	return b, nil
}

// decodeStrict decodes one JSON object into v, refusing unknown fields,
// trailing data and a wrong content type, with messages a person can act on.
func decodeStrict(r *http.Request, body []byte, v any) *arsapi.Problem {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.TrimSpace(strings.ToLower(mt))
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return problem(http.StatusUnsupportedMediaType, arsapi.CodeInvalid,
				fmt.Sprintf("request body must be application/json, not %s", mt))
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return problem(http.StatusBadRequest, arsapi.CodeInvalid, "request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem(http.StatusBadRequest, arsapi.CodeInvalid, "request body: "+jsonErrorText(err))
	}
	if dec.More() {
		return problem(http.StatusBadRequest, arsapi.CodeInvalid, "request body: unexpected data after the JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return problem(http.StatusBadRequest, arsapi.CodeInvalid, "request body: unexpected data after the JSON object")
	}
	return nil
}

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s, not JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return fmt.Sprintf("expected a JSON object, not %s", te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f + " (see docs/api/openapi.yaml for the fields this endpoint takes)"
	}
	return strings.TrimPrefix(msg, "json: ")
}

func jsonKind(k string) string {
	switch k {
	case "struct":
		return "an object"
	case "slice":
		return "an array"
	case "int", "int64", "int32":
		return "an integer"
	case "bool":
		return "a boolean"
	}
	return "a " + k
}
