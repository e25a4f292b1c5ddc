package core

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/pkg/printer"
)

// FuzzCheckSupplies: a level report's supplies come from the network;
// any JSON either fails with ErrInvalid or gives distinct, non-empty,
// trimmed names and storable levels.
func FuzzCheckSupplies(f *testing.F) {
	f.Add(`[{"name":"PGBK","type":"inkCartridge","colors":["#000000"],"level":40,"low":10}]`)
	f.Add(`[{"name":"","level":-2},{"name":"","level":-3},{"name":"supply 1","level":5}]`)
	f.Add(`[{"name":"C","level":1},{"name":"C","level":2},{"name":"C (2)","level":3}]`)
	f.Add(`[{"name":"X","level":101}]`)
	f.Fuzz(func(t *testing.T, js string) {
		var in []printer.Supply
		if json.Unmarshal([]byte(js), &in) != nil {
			return
		}
		out, err := CheckSupplies(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, sp := range out {
			if sp.Name == "" || seen[sp.Name] || sp.Name != strings.TrimSpace(sp.Name) {
				t.Fatalf("name %q empty or repeated in %+v", sp.Name, out)
			}
			seen[sp.Name] = true
			if !sp.Known() && sp.Level != -1 && sp.Level != -2 && sp.Level != -3 {
				t.Fatalf("level %d passed", sp.Level)
			}
		}
	})
}
