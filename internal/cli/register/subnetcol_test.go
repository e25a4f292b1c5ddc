package register

import (
	"strings"
	"testing"
)

func TestParseFleetCSVSubnet(t *testing.T) {
	rows, err := ParseFleetCSV(strings.NewReader("serial,subnet\nKNMA1,10.1.2.0/24\nKNMA2,10.1.3.5-10.1.3.9\nKNMA3,printers\nKNMA4,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0].Subnet != "10.1.2.0/24" || rows[0].Err != nil || rows[1].Err != nil ||
		rows[2].Err == nil || !strings.Contains(rows[2].Err.Error(), "invalid subnet") || rows[3].Err != nil {
		t.Fatalf("rows %+v", rows)
	}
	// The rows' ranges (not those of rows with a host) join the sweep.
	opts := &RegisterOptions{}
	d, err := withSubnets(opts, append(rows, Row{Host: "10.9.9.9", Subnet: "10.9.9.0/24"}, Row{Serial: "KNMA5", Subnet: "10.1.2.0/24"}))
	if err != nil || len(d.Sweep.Ranges) != 2 || d.Sweep.Ranges[0].String() != "10.1.2.1-10.1.2.254" {
		t.Fatalf("ranges %v, %v", d.Sweep.Ranges, err)
	}
	if _, err := withSubnets(opts, []Row{{Serial: "X", Subnet: "10.0.0.0/8"}}); err == nil || !strings.Contains(err.Error(), "--allow-large-sweep") {
		t.Fatalf("a /8 in the file: %v", err)
	}
}
