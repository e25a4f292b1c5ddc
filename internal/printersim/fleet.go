package printersim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// FleetConfig describes many simulated printers in one process.
type FleetConfig struct {
	// Count is how many printers to start.
	Count int
	// Host is the address to listen on; default "127.0.0.1".
	Host string
	// BasePort is the port of the first printer; the others follow on
	// consecutive ports. Zero picks a free port for each printer.
	BasePort int
	// Template is the configuration of every printer; Serial, UUID and
	// Name are made unique per printer ("<Serial><NNNN>").
	Template Config
}

// Fleet is a set of running simulated printers.
type Fleet struct {
	// Printers are the printers in start order.
	Printers []*Printer
}

// StartFleet starts cfg.Count printers. On error the printers already
// started are closed.
func StartFleet(ctx context.Context, cfg FleetConfig) (*Fleet, error) {
	if cfg.Count <= 0 {
		return nil, errors.New("printersim: fleet needs a positive count")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.BasePort != 0 && (cfg.BasePort < 1 || cfg.BasePort+cfg.Count-1 > 65535) {
		return nil, fmt.Errorf("printersim: ports %d..%d out of range", cfg.BasePort, cfg.BasePort+cfg.Count-1)
	}
	base := cfg.Template.Serial
	if base == "" {
		base = "KNMA"
	}
	f := &Fleet{}
	for i := range cfg.Count {
		c := cfg.Template
		c.Serial = fmt.Sprintf("%s%04d", base, i+1)
		c.UUID = ""
		if c.Name != "" {
			c.Name = fmt.Sprintf("%s #%d", cfg.Template.Name, i+1)
		}
		p := New(c)
		port := 0
		if cfg.BasePort != 0 {
			port = cfg.BasePort + i
		}
		if err := p.Start(ctx, net.JoinHostPort(cfg.Host, strconv.Itoa(port))); err != nil {
			f.Close()
			return nil, err
		}
		f.Printers = append(f.Printers, p)
	}
	return f, nil
}

// Close stops every printer.
func (f *Fleet) Close() error {
	var errs []error
	for _, p := range f.Printers {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}
