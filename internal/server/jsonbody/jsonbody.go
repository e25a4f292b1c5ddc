// Package jsonbody reads and decodes the JSON request bodies of arsd's
// API endpoints, with one set of limits and checks for every endpoint:
// at most MaxBytes (413 beyond), application/json or +json only (415),
// exactly one JSON object with known fields (400 otherwise).
package jsonbody

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
func problem(status int, detail string) *arsapi.Problem {
	return &arsapi.Problem{Status: status, Title: http.StatusText(status), Code: arsapi.CodeInvalid, Detail: detail}
}

// MaxBytes is the largest request body arsd's JSON endpoints read.
const MaxBytes = 64 << 10

// Read reads a request body of at most MaxBytes bytes; a longer one is a
// 413 problem.
func Read(w http.ResponseWriter, r *http.Request) ([]byte, *arsapi.Problem) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBytes))
		}
		return nil, problem(http.StatusBadRequest, "reading request body: "+err.Error())
	}
	return b, nil
}

// Decode decodes body, read by Read, as one JSON object into v, refusing
// unknown fields, trailing data (400) and a content type other than JSON
// (415), with messages a person can act on.
func Decode(r *http.Request, body []byte, v any) *arsapi.Problem {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.TrimSpace(strings.ToLower(mt))
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return problem(http.StatusUnsupportedMediaType, fmt.Sprintf("request body must be application/json, not %s", mt))
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return problem(http.StatusBadRequest, "request body is empty; expected a JSON object")
	}
	// JSON null decodes into any struct as "nothing set": a PUT of null
	// would reset what it names as if every field had been left out.
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return problem(http.StatusBadRequest, "request body: expected a JSON object, not null")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem(http.StatusBadRequest, "request body: "+jsonErrorText(err))
	}
	if dec.More() {
		return problem(http.StatusBadRequest, "request body: unexpected data after the JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return problem(http.StatusBadRequest, "request body: unexpected data after the JSON object")
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
