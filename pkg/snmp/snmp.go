// Package snmp reads a printer's identity and supply levels over SNMP v2c
// or v3 (RFC 3805 Printer MIB, RFC 2790 Host Resources MIB). arsctl uses it
// as the fallback when a printer's IPP answer lacks a serial number or
// levels, and to tell printers from other devices when sweeping a subnet.
package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/gosnmp/gosnmp"
)

// Object identifiers read by Query.
const (
	// OIDSysDescr is SNMPv2-MIB sysDescr.0.
	OIDSysDescr = "1.3.6.1.2.1.1.1.0"
	// OIDDeviceDescr is HOST-RESOURCES-MIB hrDeviceDescr.1, the printer's
	// model on most printers.
	OIDDeviceDescr = "1.3.6.1.2.1.25.3.2.1.3.1"
	// OIDSerial is Printer-MIB prtGeneralSerialNumber.1.
	OIDSerial = "1.3.6.1.2.1.43.5.1.1.17.1"
	// OIDSupplies is Printer-MIB prtMarkerSuppliesEntry.
	OIDSupplies = "1.3.6.1.2.1.43.11.1.1"
	// OIDColorantValue is Printer-MIB prtMarkerColorantValue.
	OIDColorantValue = "1.3.6.1.2.1.43.12.1.1.4"
	// OIDDeviceType is HOST-RESOURCES-MIB hrDeviceType, a column of
	// hrDeviceTable; a printer's row holds OIDDevicePrinter.
	OIDDeviceType = "1.3.6.1.2.1.25.3.2.1.2"
	// OIDDevicePrinter is HOST-RESOURCES-TYPES hrDevicePrinter, the value
	// of hrDeviceType for a printer.
	OIDDevicePrinter = "1.3.6.1.2.1.25.3.1.5"
	// OIDDeviceID is PWG Printer Port Monitor MIB ppmPrinterIEEE1284DeviceId.1,
	// the printer's IEEE 1284 device ID, which CUPS's snmp backend reads:
	// on a Canon it holds the series (MDL) and the serial (PSE), also on
	// models that do not speak IPP.
	OIDDeviceID = "1.3.6.1.4.1.2699.1.2.1.2.1.1.3.1"
)

// DefaultPort is the SNMP agent port.
const DefaultPort = 161

// Options configures Query. The zero value uses SNMP v2c with community
// "public", port 161, a one-second timeout per request and one retry.
// Its String method never shows the community or passwords.
type Options struct {
	// Community is the SNMP v2c community; "public" when empty.
	Community string
	// V3, when not nil, selects SNMPv3 with these credentials instead of
	// v2c and Community.
	V3 *V3
	// Port is the agent's UDP port; 161 when zero.
	Port uint16
	// Timeout bounds each request; the context bounds the whole query.
	Timeout time.Duration
	// Retries is the number of retransmissions per request.
	Retries int
}

// String describes the options without their secrets.
func (o Options) String() string {
	if o.V3 != nil {
		return "SNMPv3 " + o.V3.String()
	}
	return "SNMPv2c community " + redacted(o.Community)
}

// GoString is String, so that %#v does not show secrets either.
func (o Options) GoString() string { return o.String() }

// Info is what a printer's SNMP agent tells about it.
type Info struct {
	// Printer reports that hrDeviceTable has a row of type
	// hrDevicePrinter.
	Printer bool
	// SysDescr is sysDescr.0.
	SysDescr string
	// DeviceDescr is hrDeviceDescr.1.
	DeviceDescr string
	// DeviceID is ppmPrinterIEEE1284DeviceId.1, parsed; its zero value
	// when the agent has none. Like every DeviceID it never shows the
	// serial unmasked.
	DeviceID printer.DeviceID
	// Serial is prtGeneralSerialNumber.1, else the serial of DeviceID
	// (Canon's PSE).
	Serial string
	// Supplies are the rows of prtMarkerSuppliesTable.
	Supplies []printer.Supply
}

// MakeModel returns the manufacturer and model named by the device ID
// (MFG and MDL, e.g. "Canon" and "GM2080 series"), else by hrDeviceDescr,
// else by sysDescr.
func (i *Info) MakeModel() (mk, model string) {
	if i.DeviceID.Make != "" && i.DeviceID.Model != "" {
		return printer.NormalizeMake(i.DeviceID.Make), printer.NormalizeModel(i.DeviceID.Make, i.DeviceID.Model)
	}
	d := i.DeviceDescr
	if d == "" {
		d = i.SysDescr
	}
	if d == "" {
		return "", ""
	}
	return printer.SplitMakeModel(d)
}

// IsPrinter reports whether the agent is a printer's: it has a
// hrDevicePrinter row, a serial number, a device ID or supplies.
func (i *Info) IsPrinter() bool {
	return i != nil && (i.Printer || i.Serial != "" || i.DeviceID.Len() > 0 || len(i.Supplies) > 0)
}

// ErrNoAnswer is returned (wrapped) when the agent does not answer.
var ErrNoAnswer = errors.New("no SNMP answer")

// Query reads identity and supplies from the SNMP agent at host (an IP
// address or name, without port). It returns an error wrapping ErrNoAnswer
// when nothing answers; a partial Info is returned with a nil error when
// only some objects are missing.
func Query(ctx context.Context, host string, opts Options) (*Info, error) {
	if opts.Community == "" {
		opts.Community = "public"
	}
	if opts.Port == 0 {
		opts.Port = DefaultPort
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < opts.Timeout {
			opts.Timeout = max(left, time.Millisecond)
		}
	}
	g := &gosnmp.GoSNMP{
		Target:             host,
		Port:               opts.Port,
		Transport:          "udp",
		Community:          opts.Community,
		Version:            gosnmp.Version2c,
		Context:            ctx,
		Timeout:            opts.Timeout,
		Retries:            opts.Retries,
		MaxOids:            gosnmp.MaxOids,
		MaxRepetitions:     32,
		ExponentialTimeout: false,
	}
	if opts.V3 != nil {
		if err := opts.V3.apply(g); err != nil {
			return nil, err
		}
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		g.Transport = "udp6"
	}
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("snmp: connect %s: %w", net.JoinHostPort(host, strconv.Itoa(int(opts.Port))), err)
	}
	defer g.Conn.Close()

	addr := net.JoinHostPort(host, strconv.Itoa(int(opts.Port)))
	res, err := g.Get([]string{OIDSysDescr, OIDDeviceDescr, OIDSerial, OIDDeviceType + ".1", OIDDeviceID})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("snmp: %s: %w: %w", addr, ErrNoAnswer, ctx.Err())
		}
		return nil, fmt.Errorf("snmp: %s: %w: %w", addr, ErrNoAnswer, err)
	}
	info := &Info{}
	for _, v := range res.Variables {
		if strings.TrimPrefix(v.Name, ".") == OIDDeviceID {
			info.DeviceID = deviceID(v)
			continue
		}
		s, ok := String(v)
		if !ok {
			continue
		}
		switch strings.TrimPrefix(v.Name, ".") {
		case OIDSysDescr:
			info.SysDescr = s
		case OIDDeviceDescr:
			info.DeviceDescr = s
		case OIDSerial:
			info.Serial = s
		}
	}
	if info.Serial == "" {
		info.Serial = info.DeviceID.Serial
	}
	info.Printer = isPrinterType(res.Variables)
	if !info.Printer {
		// The printer is not always device 1 (hosts sharing printers
		// number them after their processors): look through the table.
		if types, err := g.BulkWalkAll(OIDDeviceType); err == nil {
			info.Printer = isPrinterType(types)
		}
	}
	supplies, err := g.BulkWalkAll(OIDSupplies)
	if err != nil {
		// Identity alone is still useful: report what was read.
		return info, nil
	}
	colorants, _ := g.BulkWalkAll(OIDColorantValue)
	info.Supplies = SuppliesFromPDUs(append(supplies, colorants...))
	return info, nil
}

// deviceID parses a ppmPrinterIEEE1284DeviceId value whole (String would
// cut a long device ID, whose serial comes last); its zero value when the
// value is not a device ID.
func deviceID(pdu gosnmp.SnmpPDU) printer.DeviceID {
	var raw string
	switch v := pdu.Value.(type) {
	case []byte:
		raw = string(v)
	case string:
		raw = v
	}
	id, err := printer.ParseDeviceID(raw)
	if err != nil {
		return printer.DeviceID{}
	}
	return id
}

// isPrinterType reports whether any of the variables is an hrDeviceType
// of hrDevicePrinter.
func isPrinterType(vars []gosnmp.SnmpPDU) bool {
	for _, v := range vars {
		if !strings.HasPrefix(strings.TrimPrefix(v.Name, "."), OIDDeviceType+".") {
			continue
		}
		if oid, ok := v.Value.(string); ok && v.Type == gosnmp.ObjectIdentifier &&
			strings.TrimPrefix(oid, ".") == OIDDevicePrinter {
			return true
		}
	}
	return false
}
