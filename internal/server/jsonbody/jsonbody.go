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
	"unicode/utf8"

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
// take the first. It scans the bytes once, without decoding values, since
// it runs on every request body; malformed JSON is left to the decoder to
// report (the scan stops, or passes over what it need not read).
func duplicateKey(body []byte) (string, bool) {
	const (
		wantValue = iota
		wantKey   // in an object, after '{' or ','
		afterValue
	)
	var (
		stack []*keySet // nil for an array
		i, n  = 0, len(body)
		state = wantValue
	)
	for {
		i = skipSpace(body, i)
		if i >= n {
			return "", false
		}
		c := body[i]
		switch state {
		case wantKey:
			if c == '}' { // an empty object
				i++
				stack, state = stack[:len(stack)-1], afterValue
				continue
			}
			start := i
			if c != '"' || !skipString(body, &i) {
				return "", false
			}
			key, ok := unquote(body[start:i])
			if !ok {
				return "", false
			}
			if stack[len(stack)-1].add(foldKey(key)) {
				return key, true
			}
			i = skipSpace(body, i)
			if i >= n || body[i] != ':' {
				return "", false
			}
			i++
			state = wantValue
		case wantValue:
			switch c {
			case '{':
				i++
				stack, state = append(stack, &keySet{}), wantKey
			case '[':
				i++
				stack = append(stack, nil)
				i = skipSpace(body, i)
				if i < n && body[i] == ']' { // an empty array
					i++
					stack, state = stack[:len(stack)-1], afterValue
				}
			case '"':
				if !skipString(body, &i) {
					return "", false
				}
				state = afterValue
			default: // a number, true, false or null
				start := i
				for i < n && !strings.ContainsRune(" \t\n\r,:]}[{\"", rune(body[i])) {
					i++
				}
				if i == start {
					return "", false
				}
				state = afterValue
			}
		case afterValue:
			if len(stack) == 0 { // the end of the top value
				return "", false
			}
			switch c {
			case ',':
				i++
				if stack[len(stack)-1] != nil {
					state = wantKey
				} else {
					state = wantValue
				}
			case '}', ']':
				i++
				stack = stack[:len(stack)-1]
			default:
				return "", false
			}
		}
	}
}

// skipSpace is the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(body []byte, i int) int {
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	return i
}

// skipString moves *i past the string that starts at body[*i] (a '"'),
// reporting false when it does not end.
func skipString(body []byte, i *int) bool {
	for j := *i + 1; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
			*i = j + 1
			return true
		}
	}
	return false
}

// unquote is the text of a JSON string with its quotes, as encoding/json
// reads it.
func unquote(quoted []byte) (string, bool) {
	if bytes.IndexByte(quoted, '\\') < 0 && utf8.Valid(quoted) {
		return string(quoted[1 : len(quoted)-1]), true
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", false
	}
	return s, true
}

// keySet is the folded keys of one object: a short list, as most objects
// have a few keys, and a map once there are many.
type keySet struct {
	few  []string
	many map[string]struct{}
}

// add adds a folded key, reporting whether it was there already.
func (s *keySet) add(k string) bool {
	if s.many != nil {
		if _, ok := s.many[k]; ok {
			return true
		}
		s.many[k] = struct{}{}
		return false
	}
	for _, f := range s.few {
		if f == k {
			return true
		}
	}
	if len(s.few) < 16 {
		s.few = append(s.few, k)
		return false
	}
	s.many = make(map[string]struct{}, 32)
	for _, f := range s.few {
		s.many[f] = struct{}{}
	}
	s.many[k] = struct{}{}
	return false
}

// foldKey maps a key to one representative of the keys strings.EqualFold
// (and so encoding/json) takes for the same.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// An ASCII letter's fold orbit is its upper and lower case (and,
		// for k and s, a letter beyond ASCII): the least is the upper.
		return strings.ToUpper(s)
	}
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
