package snmp

import (
	"encoding/binary"
	"math/big"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/arsctl/arsctl/pkg/printer"
)

func TestString(t *testing.T) {
	tests := []struct {
		v    any
		want string
		ok   bool
	}{
		{[]byte("KMBA01234\x00\x00"), "KMBA01234", true},
		{[]byte("  Canon\tTS8320\r\nseries "), "Canon TS8320 series", true},
		{[]byte("caf\xc3\xa9 \xff\xfe"), "café", true},
		{"text", "text", true},
		{[]byte{0, 0}, "", false},
		{42, "", false},
		{nil, "", false},
	}
	for _, tt := range tests {
		got, ok := String(gosnmp.SnmpPDU{Value: tt.v})
		if got != tt.want || ok != tt.ok {
			t.Errorf("String(%#v) = %q, %v; want %q, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		v    any
		want int
		ok   bool
	}{
		{80, 80, true},
		{-3, -3, true},
		{uint(100), 100, true},
		{uint32(7), 7, true},
		{uint64(1 << 40), 0, false},
		{int64(-2), -2, true},
		{big.NewInt(5), 5, true},
		{(*big.Int)(nil), 0, false},
		{[]byte("80"), 0, false},
	}
	for _, tt := range tests {
		got, ok := Int(gosnmp.SnmpPDU{Value: tt.v})
		if got != tt.want || ok != tt.ok {
			t.Errorf("Int(%#v) = %d, %v; want %d, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLevel(t *testing.T) {
	tests := []struct{ level, max, want int }{
		{80, 100, 80},
		{2, 4, 50},
		{500, 400, 100},
		{-3, 100, printer.LevelSomeRemaining},
		{-2, 100, printer.LevelUnknown},
		{-1, 100, printer.LevelOther},
		{40, -2, 40},
		{400, -2, printer.LevelUnknown},
		{-7, 100, printer.LevelUnknown},
	}
	for _, tt := range tests {
		if got := Level(tt.level, tt.max); got != tt.want {
			t.Errorf("Level(%d, %d) = %d, want %d", tt.level, tt.max, got, tt.want)
		}
	}
}

func pdu(oid string, v any) gosnmp.SnmpPDU { return gosnmp.SnmpPDU{Name: "." + oid, Value: v} }

// walk is what snmpd serves for a Canon PIXMA in the namespace tests.
func walk() []gosnmp.SnmpPDU {
	return []gosnmp.SnmpPDU{
		pdu("1.3.6.1.2.1.43.11.1.1.3.1.1", 1),
		pdu("1.3.6.1.2.1.43.11.1.1.3.1.2", 2),
		pdu("1.3.6.1.2.1.43.11.1.1.5.1.1", 6),
		pdu("1.3.6.1.2.1.43.11.1.1.5.1.2", 8),
		pdu("1.3.6.1.2.1.43.11.1.1.6.1.1", []byte("Black")),
		pdu("1.3.6.1.2.1.43.11.1.1.6.1.2", []byte("Waste ink\x00")),
		pdu("1.3.6.1.2.1.43.11.1.1.8.1.1", 100),
		pdu("1.3.6.1.2.1.43.11.1.1.8.1.2", -2),
		pdu("1.3.6.1.2.1.43.11.1.1.9.1.1", 80),
		pdu("1.3.6.1.2.1.43.11.1.1.9.1.2", -3),
		pdu("1.3.6.1.2.1.43.12.1.1.4.1.1", []byte("black")),
		pdu("1.3.6.1.2.1.43.12.1.1.4.1.2", []byte("unknown")),
		// A maintenance box: a receptacle with 66 % of its space left.
		pdu("1.3.6.1.2.1.43.11.1.1.4.1.1", 3),
		pdu("1.3.6.1.2.1.43.11.1.1.4.1.3", 4),
		pdu("1.3.6.1.2.1.43.11.1.1.5.1.3", 8),
		pdu("1.3.6.1.2.1.43.11.1.1.6.1.3", []byte("Maintenance Box")),
		pdu("1.3.6.1.2.1.43.11.1.1.8.1.3", 50),
		pdu("1.3.6.1.2.1.43.11.1.1.9.1.3", 33),
		pdu("1.3.6.1.2.1.43.11.1.1.9.1", 5),      // malformed index
		pdu("1.3.6.1.2.1.43.11.1.1.x.1.1", 5),    // malformed column
		pdu("1.3.6.1.2.1.25.3.2.1.3.1", "other"), // another table
	}
}

func TestSuppliesFromPDUs(t *testing.T) {
	got := SuppliesFromPDUs(walk())
	want := []printer.Supply{
		{Name: "Black", Type: "inkCartridge", Class: printer.ClassConsumed, Level: 80, ColorName: "black", Colors: []string{"#000000"}},
		{Name: "Waste ink", Type: "wasteInk", Level: printer.LevelSomeRemaining},
		{Name: "Maintenance Box", Type: "wasteInk", Class: printer.ClassReceptacle, Level: 34},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Type != w.Type || g.Class != w.Class || g.Level != w.Level || g.ColorName != w.ColorName || !slices.Equal(g.Colors, w.Colors) {
			t.Errorf("supply %d = %+v, want %+v", i, g, w)
		}
	}
	if k, l := got[2].Kind(), got[2].LevelText(); k != printer.KindWaste || l != "34% full" || got[2].Reorderable() {
		t.Errorf("maintenance box: kind %q, level %q, reorderable %v", k, l, got[2].Reorderable())
	}
	if s := SuppliesFromPDUs(nil); s != nil {
		t.Errorf("no PDUs gave %+v", s)
	}
}

func TestMakeModel(t *testing.T) {
	i := &Info{SysDescr: "Canon iR-ADV C5535 /P", DeviceDescr: "Canon TS8320 series"}
	if mk, m := i.MakeModel(); mk != "Canon" || m != "TS8320 series" {
		t.Errorf("MakeModel = %q, %q", mk, m)
	}
	if mk, m := (&Info{}).MakeModel(); mk != "" || m != "" {
		t.Errorf("empty MakeModel = %q, %q", mk, m)
	}
}

// FuzzSuppliesFromPDUs feeds arbitrary names and values (as an agent could
// send them) through the value conversions.
func FuzzSuppliesFromPDUs(f *testing.F) {
	f.Add([]byte("1.3.6.1.2.1.43.11.1.1.9.1.1"), []byte("Black"), int64(80), uint8(0))
	f.Add([]byte("1.3.6.1.2.1.43.12.1.1.4.1.1"), []byte("cyan\x00\xff"), int64(-3), uint8(1))
	f.Add([]byte("1.3.6.1.2.1.43.11.1.1.8.1.99999999999999999999"), []byte{}, int64(1<<40), uint8(2))
	f.Add([]byte(".1.3.6.1.2.1.43.11.1.1.6.-1.-1"), []byte("\xc3"), int64(-1), uint8(3))
	f.Fuzz(func(t *testing.T, name, raw []byte, n int64, kind uint8) {
		var v any
		switch kind % 5 {
		case 0:
			v = raw
		case 1:
			v = int(n)
		case 2:
			v = uint64(n)
		case 3:
			v = big.NewInt(n)
		default:
			v = string(raw)
		}
		pdus := []gosnmp.SnmpPDU{{Name: string(name), Value: v}}
		// Also every column of row 1 with this value.
		for col := 1; col <= 9; col++ {
			pdus = append(pdus, gosnmp.SnmpPDU{Name: OIDSupplies + "." + string(rune('0'+col)) + ".1.1", Value: v})
		}
		if len(raw) >= 8 {
			pdus = append(pdus, gosnmp.SnmpPDU{Name: OIDColorantValue + ".1.1", Value: raw},
				gosnmp.SnmpPDU{Name: OIDSupplies + ".9.1.2", Value: int(int64(binary.LittleEndian.Uint64(raw)))})
		}
		for _, s := range SuppliesFromPDUs(pdus) {
			if !utf8.ValidString(s.Name) || len(s.Name) > maxText {
				t.Fatalf("bad name %q", s.Name)
			}
			if s.Level > 100 || (s.Level < 0 && s.Level != printer.LevelOther && s.Level != printer.LevelUnknown && s.Level != printer.LevelSomeRemaining) {
				t.Fatalf("bad level %d", s.Level)
			}
		}
		if s, ok := String(pdus[0]); ok && (!utf8.ValidString(s) || len(s) > maxText) {
			t.Fatalf("bad string %q", s)
		}
		Int(pdus[0])
	})
}
