package snmp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// TestDeviceID reads the device ID a Canon's agent serves in
// ppmPrinterIEEE1284DeviceId, which CUPS's snmp backend shows for a
// GM2080 series, a Canon without IPP (testdata/canon-series): make and
// model (the series) and serial (PSE) come from it, also when it is
// longer than the 256 bytes of a display string, with the serial last.
func TestDeviceID(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "canon-series", "device-id.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var gm string
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(line, "MDL:GM2080 series;") && !strings.HasPrefix(line, "#") {
			gm = line
		}
	}
	if gm == "" {
		t.Fatal("no GM2080 device ID in testdata")
	}
	long := strings.Replace(gm, "MDL:", "MSI:"+strings.Repeat("X,", 120)+";MDL:", 1)
	for _, raw := range []string{gm, long, "\x01\x2f" + gm} {
		info := &Info{DeviceID: deviceID(gosnmp.SnmpPDU{Name: "." + OIDDeviceID, Type: gosnmp.OctetString, Value: []byte(raw)}),
			DeviceDescr: "Canon GM2000"}
		mk, model := info.MakeModel()
		if mk != "Canon" || model != "GM2080 series" || info.DeviceID.Serial != "KAAD00004" || !info.IsPrinter() {
			t.Errorf("%.30q…: %q %q serial %q printer %v", raw, mk, model, info.DeviceID.Serial, info.IsPrinter())
		}
	}
	if id := deviceID(gosnmp.SnmpPDU{Type: gosnmp.NoSuchObject}); id.Len() != 0 {
		t.Errorf("no device ID gave %v", id)
	}
	// Without a device ID, hrDeviceDescr names the printer.
	if mk, model := (&Info{DeviceDescr: "Canon TS8300 series"}).MakeModel(); mk != "Canon" || model != "TS8300 series" {
		t.Errorf("MakeModel from hrDeviceDescr = %q %q", mk, model)
	}
}
