package printer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// addCorpus adds the non-comment lines of testdata/<name>.txt as seeds.
func addCorpus(f *testing.F, name string) {
	for _, line := range corpusLines(f, name) {
		f.Add(line)
	}
}

func corpusLines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func TestParseDeviceID(t *testing.T) {
	tests := []struct {
		in      string
		want    DeviceID
		wantErr bool
	}{
		{
			in: "MFG:Canon;CMD:BJL,BJRaster3,PWGRaster,URF;MDL:TS8320 series;CLS:PRINTER;DES:Canon TS8320 series;VER:1.030;STA:10;FSI:03;HRI:1;MSI:1,2,3;PST:2;PSE:KNMA01234;",
			want: DeviceID{Make: "Canon", Model: "TS8320 series", CommandSet: []string{"BJL", "BJRaster3", "PWGRaster", "URF"},
				Class: "PRINTER", Description: "Canon TS8320 series", Serial: "KNMA01234"},
		},
		{
			in:   "MANUFACTURER:Lexmark International;COMMAND SET:PCL 6 Emulation,PJL;MODEL:Lexmark MS610de;CLS:PRINTER;SERIALNUMBER:451400000000;",
			want: DeviceID{Make: "Lexmark International", Model: "Lexmark MS610de", CommandSet: []string{"PCL 6 Emulation", "PJL"}, Class: "PRINTER", Serial: "451400000000"},
		},
		{
			in:   "MFG:XEROX;MDL:VersaLink C400;SERN:3385600000;",
			want: DeviceID{Make: "XEROX", Model: "VersaLink C400", Serial: "3385600000"},
		},
		{
			// SN wins over PSE.
			in:   "MFG:HP;MDL:OfficeJet;SN:CN00000000;PSE:other;",
			want: DeviceID{Make: "HP", Model: "OfficeJet", Serial: "CN00000000"},
		},
		{
			// Case-insensitive keys, white space, no trailing ';'.
			in:   "  mfg : Canon ; Mdl :  TS5300 series ;pse:KMAB00001",
			want: DeviceID{Make: "Canon", Model: "TS5300 series", Serial: "KMAB00001"},
		},
		{
			// USB length prefix.
			in:   "\x00\x2aMFG:Canon;MDL:G3010 series;",
			want: DeviceID{Make: "Canon", Model: "G3010 series"},
		},
		{
			in:   "\r\nMFG:Canon;MDL:G3010 series;\r\n",
			want: DeviceID{Make: "Canon", Model: "G3010 series"},
		},
		{
			// Escaped separators.
			in:   `MFG:Odd\;Make;MDL:Model\:X;`,
			want: DeviceID{Make: "Odd;Make", Model: "Model:X"},
		},
		{
			// First occurrence wins; empty values are skipped by the aliases.
			in:   "MFG:Canon;MFG:Other;MDL:;MODEL:Fallback;",
			want: DeviceID{Make: "Canon", Model: "Fallback"},
		},
		{in: "", wantErr: true},
		{in: "no pairs at all", wantErr: true},
		{in: ";;;", wantErr: true},
		{in: ":value;", wantErr: true},
		{in: strings.Repeat("A", maxDeviceIDLen+1), wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseDeviceID(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDeviceID(%.40q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		got.fields = nil
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseDeviceID(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
		}
	}
}

// TestCanonDeviceIDs parses the device IDs of real Canon printers: the
// model is the series, and the serial is PSE, the serial printed on the
// printer, not SERN, which a Canon read over USB sends first and which is
// its USB serial (six hex digits).
func TestCanonDeviceIDs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "canon-series", "device-id.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ model, serial string }{
		{"G3010 series", "KAAA00001"}, {"G2010 series", "KAAB00002"}, {"MX420 series", "KAAC00003"},
		{"GM2080 series", "KAAD00004"}, {"MG5500 series", "KAAE00005"}, {"G6000 series", ""},
		{"Device", "KAAF00006"},
	}
	var i int
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := ParseDeviceID(line)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if i >= len(want) {
			t.Fatalf("more device IDs than expected: %q", line)
		}
		if id.Make != "Canon" || id.Model != want[i].model || id.Serial != want[i].serial {
			t.Errorf("%s: make, model, serial = %q, %q, %q; want Canon, %q, %q", want[i].model, id.Make, id.Model, id.Serial, want[i].model, want[i].serial)
		}
		if want[i].model == "MX420 series" && id.Get("VER") != "1.020" {
			t.Errorf("MX420: VER after an ideographic space = %q", id.Get("VER"))
		}
		i++
	}
	if i != len(want) {
		t.Errorf("%d device IDs, want %d", i, len(want))
	}
}

func TestDeviceIDGet(t *testing.T) {
	id, err := ParseDeviceID("MFG:Canon;VER:1.030;command set:PCL;")
	if err != nil {
		t.Fatal(err)
	}
	if id.Get("ver") != "1.030" || id.Get("COMMAND SET") != "PCL" || id.Get("nope") != "" || id.Len() != 3 {
		t.Errorf("Get: %q %q %q %d", id.Get("ver"), id.Get("COMMAND SET"), id.Get("nope"), id.Len())
	}
	if len(id.CommandSet) != 1 || id.CommandSet[0] != "PCL" {
		t.Errorf("CommandSet = %q", id.CommandSet)
	}
}

// The serial (Canon's PSE doubles as the admin password) must never be
// rendered, however the DeviceID is printed or logged.
func TestDeviceIDRedacted(t *testing.T) {
	const secret = "KNMA98765"
	raw := "MFG:Canon;MDL:TS8320 series;PSE:" + secret + ";"
	id, err := ParseDeviceID(raw)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("device", "id", id)
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("device", "id", id)
	js, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":  fmt.Sprintf("%v", id),
		"%+v": fmt.Sprintf("%+v", id),
		"%#v": fmt.Sprintf("%#v", id),
		//lint:ignore S1025 the %s verb itself is under test
		"%s":   fmt.Sprintf("%s", id),
		"ptr":  fmt.Sprintf("%v", &id),
		"nest": fmt.Sprintf("%+v", struct{ ID DeviceID }{id}),
		"slog": logBuf.String(),
		"json": string(js),
	}
	for how, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, "PSE") {
			t.Errorf("%s rendered the serial or raw ID: %s", how, out)
		}
		if how != "slog" && how != "json" && !strings.Contains(out, "****8765") {
			t.Errorf("%s lacks the masked serial: %s", how, out)
		}
	}
	if !strings.Contains(logBuf.String(), "****8765") || !strings.Contains(string(js), "****8765") {
		t.Errorf("slog/json lack the masked serial: %s %s", logBuf.String(), js)
	}
}

func TestParseDeviceIDCorpus(t *testing.T) {
	for _, line := range corpusLines(t, "device-id") {
		id, err := ParseDeviceID(line)
		if err != nil {
			continue
		}
		if id.Make == "" && id.Model == "" && id.Len() == 0 {
			t.Errorf("%q parsed to nothing without error", line)
		}
	}
}

func FuzzParseDeviceID(f *testing.F) {
	addCorpus(f, "device-id")
	canon, err := os.ReadFile(filepath.Join("..", "..", "testdata", "canon-series", "device-id.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for line := range strings.SplitSeq(string(canon), "\n") {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseDeviceID(s)
		if err != nil {
			return
		}
		if id.Len() == 0 {
			t.Errorf("no keys but no error for %q", s)
		}
		if id.Serial != "" && len(id.Serial) > 4 && strings.Contains(id.String(), fmt.Sprintf("Serial:%q", id.Serial)) {
			t.Errorf("String() shows serial %q", id.Serial)
		}
	})
}
