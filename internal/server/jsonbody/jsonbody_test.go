package jsonbody

import (
	"encoding/json"
	"strings"
	"testing"
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
