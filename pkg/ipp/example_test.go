package ipp_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/pkg/ipp"
)

func ExampleClient_Probe() {
	sim := printersim.New(printersim.Config{Serial: "KNMA00001", Levels: map[string]int{"C": 10}})
	if err := sim.Start(context.Background(), "127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer sim.Close()

	var c ipp.Client
	p, err := c.Probe(context.Background(), sim.Addr()) // just host:port
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Make, p.Model, p.Serial)
	for _, s := range p.Supplies {
		fmt.Printf("%s %s %d%%\n", s.Name, s.Colors[0], s.Level)
	}
	// Output:
	// Canon TS8300 series KNMA00001
	// PGBK #000000 80%
	// BK #000000 70%
	// C #00FFFF 10%
	// M #FF00FF 50%
	// Y #FFFF00 40%
	// PB #0080FF 30%
}

func ExampleClient_GetPrinterAttributes_ipps() {
	sim := printersim.New(printersim.Config{TLS: true})
	if err := sim.Start(context.Background(), "127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer sim.Close()
	dir, _ := os.MkdirTemp("", "pins")
	defer os.RemoveAll(dir)

	// The first connection pins the printer's self-signed certificate.
	c := ipp.Client{Pins: ipp.NewFilePinStore(filepath.Join(dir, "printer-pins.json"))}
	p, err := c.GetPrinterAttributes(context.Background(), sim.URL())
	if err != nil {
		panic(err)
	}
	fmt.Println(p.TLSFingerprint == sim.Fingerprint())
	// Output: true
}
