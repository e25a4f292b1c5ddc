package jsonbody

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func TestDuplicateKey(t *testing.T) {
	for body, want := range map[string]string{
		`{"policy":"forecast","hold_minutes":60,"policy":"threshold"}`: "policy",
		`{"policy":"forecast","POLICY":"threshold"}`:                   "POLICY",
		`{"name":"x","nameſ":1,"NAMES":2}`:                             "NAMES",
		`{"printer":{"serial":"A","Serial":"B"}}`:                      "Serial",
		`{"supplies":[{"name":"a","level":1,"name":"b"}]}`:             "name",
		`{"a":{"b":1},"a":2}`:                                          "a",
		`{"k":1,"\u212a":2}`:                                           "\u212a", // Kelvin sign folds to k
	} {
		if got, ok := duplicateKey([]byte(body)); !ok || got != want {
			t.Errorf("duplicateKey(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
	for _, body := range []string{
		`{"supplies":[{"name":"a","level":1},{"name":"b","level":2}]}`,
		`{"a":"a","b":["a","a"],"c":{"a":"a"}}`,
		`{"policy":"","hold_minutes":null}`,
		`{"a":1,`, `[1,2]`, `"x"`, ``, `{"a":{"a":{"a":1}}}`,
	} {
		if got, ok := duplicateKey([]byte(body)); ok {
			t.Errorf("duplicateKey(%s) = %q, want none", body, got)
		}
	}
}

// FuzzDuplicateKey: any bytes; a key reported twice is one that decoding
// into a map, which keeps one value per exact key, sees no more than once
// per spelling of its fold.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"a":[{"b":1,"b":2}]}`, `{"x":{"y":[1,{"z":null}]},"w":"v"}`, `{"\u212a":1,"k":2}`, `{`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		key, dup := duplicateKey(b)
		if again, dup2 := duplicateKey(b); again != key || dup2 != dup {
			t.Fatalf("not deterministic: %q %v, then %q %v", key, dup, again, dup2)
		}
		var m map[string]json.RawMessage
		if dup || json.Unmarshal(b, &m) != nil {
			return
		}
		// No duplicate at the top: no two keys of the map fold alike.
		seen := map[string]string{}
		for k := range m {
			if other, ok := seen[foldKey(k)]; ok && !strings.EqualFold(other, k) {
				t.Fatalf("keys %q and %q fold to one but are not EqualFold", other, k)
			} else if ok {
				t.Fatalf("keys %q and %q match the same field, not reported", other, k)
			}
			seen[foldKey(k)] = k
		}
	})
}

// FuzzDuplicateKeySameAsDecoder: on valid JSON the byte scan finds the
// duplicate key that a scan of encoding/json's tokens finds (the way keys
// were checked before), and folds keys alike.
func FuzzDuplicateKeySameAsDecoder(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"a":[{"b":1,"b":2}]}`, `{"x":{"y":[1,{"z":null}]},"w":"v"}`,
		`{"\u212a":1,"k":2}`, `{"s":1,"\u017f":2}`, `[{}, [], "a\"b", {"a":{"a":1}}]`, `{"é":1,"É":2}`,
		`{"a\u0000":1,"A\u0000":2}`, `{"":1,"":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range []string{string(b)} {
			if got, want := foldKey(r), foldKeyMap(r); got != want {
				t.Fatalf("foldKey(%q) = %q, want %q", r, got, want)
			}
		}
		if !json.Valid(b) {
			return
		}
		key, dup := duplicateKey(b)
		wantKey, wantDup := duplicateKeyTokens(b)
		if key != wantKey || dup != wantDup {
			t.Fatalf("duplicateKey(%q) = %q, %v; the token scan says %q, %v", b, key, dup, wantKey, wantDup)
		}
	})
}

// TestDuplicateKeyManyKeys: an object of thousands of keys is scanned in
// one pass (a key list would compare each key with all before it).
func TestDuplicateKeyManyKeys(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("{")
	for i := range 5000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k_` + strconv.Itoa(i) + `":1`)
	}
	b.WriteString(`,"K_0":2}`)
	if key, ok := duplicateKey(b.Bytes()); !ok || key != "K_0" {
		t.Errorf("duplicateKey = %q, %v; want K_0", key, ok)
	}
}

func duplicateKeyTokens(body []byte) (string, bool) {
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
				k := foldKeyMap(t)
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

func foldKeyMap(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}

// BenchmarkDuplicateKey: a level report of six supplies, by the byte scan
// and by the token scan it replaced.
func BenchmarkDuplicateKey(b *testing.B) {
	body := []byte(`{"read_at":"2026-12-04T10:00:00Z","supplies":[` + strings.Repeat(`{"name":"Black(PGBK)","type":"inkCartridge","color_name":"black","colors":["#000000"],"level":57,"low":10},`, 5) +
		`{"name":"Yellow","type":"inkCartridge","color_name":"yellow","colors":["#FFFF00"],"level":80,"low":10}]}`)
	for _, s := range []struct {
		name string
		f    func([]byte) (string, bool)
	}{{"bytes", duplicateKey}, {"tokens", duplicateKeyTokens}} {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				if _, dup := s.f(body); dup {
					b.Fatal("duplicate")
				}
			}
		})
	}
}
