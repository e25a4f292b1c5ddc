package arsapi

import "testing"

func TestModelKey(t *testing.T) {
	same := [][2]string{
		{"Canon PIXMA TS8320 series", "ts8320"},
		{"PRO-200", "PRO 200"},
		{"pro_200", "Canon PRO-200 Inkjet Printer"},
		{" TS9521C ", "ts9521c"},
	}
	for _, p := range same {
		if a, b := ModelKey(p[0]), ModelKey(p[1]); a != b {
			t.Errorf("ModelKey(%q) = %q, ModelKey(%q) = %q; want equal", p[0], a, p[1], b)
		}
	}
	if a, b := ModelKey("TS8320"), ModelKey("TS8320a"); a == b {
		t.Errorf("ModelKey of TS8320 and TS8320a both %q; variants must stay apart", a)
	}
	if k := ModelKey("Canon PIXMA series"); k != "" {
		t.Errorf("ModelKey of words only = %q, want empty", k)
	}
}
