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
	"unicode"

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
	if key, ok := duplicateKey(body); ok {
		return problem(http.StatusBadRequest, fmt.Sprintf("request body: field %q appears more than once in an object", key))
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

// duplicateKey reports the first key that appears twice in one object of
// body, matching keys as encoding/json matches them to fields (without
// regard to case): json.Unmarshal keeps the last of them, where another
// reader of the same bytes (a proxy, a log, a client's own check) may
// take the first. Malformed JSON is left to the decoder to report.
func duplicateKey(body []byte) (string, bool) {
	type frame struct {
		keys    map[string]bool // nil in an array
		wantKey bool
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	value := func() { // a value ended: in an object, a key comes next
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{keys: map[string]bool{}, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				value()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
				k := foldKey(t)
				if stack[n-1].keys[k] {
					return t, true
				}
				stack[n-1].keys[k] = true
				stack[n-1].wantKey = false
				continue
			}
			value()
		default:
			value()
		}
	}
}

// foldKey maps a key to one representative of the keys strings.EqualFold
// (and so encoding/json) takes for the same.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
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
