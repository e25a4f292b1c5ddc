package printer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseTXT(t *testing.T) {
	canon := []string{
		"txtvers=1", "qtotal=1", "rp=ipp/print", "ty=Canon TS8300 series", "product=(Canon TS8300 series)",
		"usb_MFG=Canon", "usb_MDL=TS8300 series", "pdl=application/octet-stream,image/urf,image/pwg-raster,image/jpeg",
		"UUID=00000000-0000-1000-8000-00000000ABCD", "adminurl=http://Canon-TS8300.local./index.html",
		"note=Study", "Color=T", "Duplex=T", "TLS=1.2", "mopria-certified=2.0", "kind=document,envelope,photo",
	}
	got := ParseTXT(canon)
	want := TXT{
		Ty: "Canon TS8300 series", Product: "Canon TS8300 series", USBMfg: "Canon", USBMdl: "TS8300 series",
		UUID: "00000000-0000-1000-8000-00000000abcd", AdminURL: "http://Canon-TS8300.local./index.html",
		RP: "ipp/print", PDL: []string{"application/octet-stream", "image/urf", "image/pwg-raster", "image/jpeg"},
		TLS: "1.2", Note: "Study",
	}
	fields := got.fields
	got.fields = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	got.fields = fields
	if v, ok := got.Get("color"); !ok || v != "T" {
		t.Errorf("Get(color) = %q %v", v, ok)
	}
	if mk, model := got.MakeModel(); mk != "Canon" || model != "TS8300 series" {
		t.Errorf("MakeModel = %q %q", mk, model)
	}
	p := got.Printer()
	if p.Make != "Canon" || p.Model != "TS8300 series" || p.UUID != want.UUID || p.AdminURL != want.AdminURL || p.Sources[0] != "mdns" {
		t.Errorf("Printer = %+v", p)
	}
}

func TestParseTXTMalformed(t *testing.T) {
	txt := ParseTXT([]string{
		"",                              // empty: skipped
		"ty=First",                      // first wins
		"TY=Second",                     //
		"Duplex",                        // boolean key
		"=novalue",                      // empty key: skipped
		"k\x00ey=x",                     // non-printable key: skipped
		"note=\x00\x01bad\xffutf8\n",    // cleaned
		strings.Repeat("x", 300) + "=y", // oversize: skipped
		"UUID=not-a-uuid",
		"rp=/ipp/print",
		"product=Canon G3010 series", // without parentheses
	})
	if txt.Ty != "First" {
		t.Errorf("Ty = %q", txt.Ty)
	}
	if v, ok := txt.Get("duplex"); !ok || v != "" {
		t.Errorf("Duplex = %q %v", v, ok)
	}
	if txt.Note != "badutf8" {
		t.Errorf("Note = %q", txt.Note)
	}
	if txt.UUID != "" {
		t.Errorf("UUID = %q", txt.UUID)
	}
	if txt.RP != "ipp/print" || txt.Product != "Canon G3010 series" {
		t.Errorf("RP, Product = %q %q", txt.RP, txt.Product)
	}
	if keys := txt.Keys(); !reflect.DeepEqual(keys, []string{"duplex", "note", "product", "rp", "ty", "uuid"}) {
		t.Errorf("Keys = %q", keys)
	}
	if mk, model := txt.MakeModel(); mk != "" || model != "First" {
		t.Errorf("MakeModel = %q %q", mk, model)
	}
	// Binary junk and oversize lists do not panic.
	junk := make([]string, 1000)
	for i := range junk {
		junk[i] = string([]byte{byte(i), '=', byte(i >> 8)})
	}
	_ = ParseTXT(junk)
	if got := ParseTXT(nil); got.Ty != "" || len(got.Keys()) != 0 {
		t.Errorf("nil: %+v", got)
	}
}

func TestNormalizeUUID(t *testing.T) {
	tests := map[string]string{
		"urn:uuid:E3248000-80CE-11DB-8000-30055C000000": "e3248000-80ce-11db-8000-30055c000000",
		"{e3248000-80ce-11db-8000-30055c000000}":        "e3248000-80ce-11db-8000-30055c000000",
		"e324800080ce11db800030055c000000":              "e324800080ce11db800030055c000000",
		"not-a-uuid":                                    "",
		"":                                              "",
		"e3248000-80ce-11db-8000-30055c00000":           "",
	}
	for in, want := range tests {
		if got := NormalizeUUID(in); got != want {
			t.Errorf("NormalizeUUID(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCanonTXT reads the TXT records of real Canon printers: make and
// model from usb_MFG and usb_MDL (the SELPHY's ty ends in " HTTP"), the
// UUID lower-cased, the admin URL as given.
func TestCanonTXT(t *testing.T) {
	want := []struct{ model, uuid, admin string }{
		{"TS3300 series", "00000000-0000-1000-8000-0018a2aecfb0", "http://localhost:60000/index.html?page=PAGE_AAP"},
		{"MX450 series", "00000000-0000-1000-8000-180cacb13123", "http://B13123000000.local."},
		{"SELPHY CP1300", "f84aad2c-f8a5-43ac-9673-9c32ceb3a49e", "http://CP1300b3a49e.local:8008/index.html"},
	}
	records := canonTXT(t)
	if len(records) != len(want) {
		t.Fatalf("%d records, want %d", len(records), len(want))
	}
	for i, r := range records {
		p := ParseTXT(r).Printer()
		if p.Make != "Canon" || p.Model != want[i].model || p.UUID != want[i].uuid || p.AdminURL != want[i].admin {
			t.Errorf("record %d: %+v, want Canon %+v", i, p, want[i])
		}
	}
}

// canonTXT returns the records of testdata/canon-series/txt.txt.
func canonTXT(t testing.TB) [][]string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "canon-series", "txt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for line := range strings.SplitSeq(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, strings.Split(line, "|"))
		}
	}
	return out
}

func FuzzParseTXT(f *testing.F) {
	addCorpus(f, "txt")
	for _, r := range canonTXT(f) {
		f.Add(strings.Join(r, "|"))
	}
	f.Fuzz(func(t *testing.T, record string) {
		txt := ParseTXT(strings.Split(record, "|"))
		for _, k := range txt.Keys() {
			if k == "" || k != strings.ToLower(k) {
				t.Errorf("bad key %q", k)
			}
		}
		if txt.UUID != "" && NormalizeUUID(txt.UUID) != txt.UUID {
			t.Errorf("UUID %q not normalised", txt.UUID)
		}
		_, _ = txt.MakeModel()
	})
}
