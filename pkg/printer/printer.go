// Package printer models a network printer as arsctl sees it: identity
// (make, model, serial, UUID), where it answers, and its supply levels.
//
// It also holds the parsers for everything a printer sends about itself:
// IPP marker-* and PWG 5100.13 printer-supply attributes, IEEE 1284 device
// IDs and DNS-SD TXT records. Every parser accepts arbitrary bytes from the
// network: bad input yields an error or an "unknown" value, never a panic.
//
// This package imports nothing else from arsctl.
package printer

import "time"

// Special supply levels defined by RFC 3805 (Printer MIB) and used by IPP's
// marker-levels attribute.
const (
	// LevelOther means the level is known to the printer but not as a percentage.
	LevelOther = -1
	// LevelUnknown means the printer does not know the level.
	LevelUnknown = -2
	// LevelSomeRemaining means some supply remains, amount unknown.
	LevelSomeRemaining = -3
)

// Printer is one physical printer, however many services, addresses or
// protocols it was seen through.
type Printer struct {
	// Name is the human name: the DNS-SD instance name, else printer-info or
	// printer-name.
	Name string `json:"name"`
	// Host is the DNS host name (e.g. "pixma-ts8320.local"), if known.
	Host string `json:"host,omitempty"`
	// Addrs are the IP addresses the printer answered on, IPv4 first.
	Addrs []string `json:"addresses,omitempty"`
	// Port is the IPP port (usually 631).
	Port int `json:"port,omitempty"`
	// URI is the IPP or IPPS URI used to query the printer.
	URI string `json:"uri,omitempty"`
	// Make is the manufacturer, e.g. "Canon".
	Make string `json:"make,omitempty"`
	// Model is the model name without the manufacturer, e.g. "TS8320 series".
	Model string `json:"model,omitempty"`
	// Serial is the serial number, when the printer exposes one.
	Serial string `json:"serial,omitempty"`
	// UUID is the printer's stable UUID (printer-uuid or the TXT UUID key),
	// lower case without the "urn:uuid:" prefix.
	UUID string `json:"uuid,omitempty"`
	// AdminURL is the printer's embedded web server address.
	AdminURL string `json:"admin_url,omitempty"`
	// State is the IPP printer-state keyword: idle, processing or stopped.
	State string `json:"state,omitempty"`
	// Supplies are the consumables with their levels.
	Supplies []Supply `json:"supplies,omitempty"`
	// LevelsReadAt is when Supplies were read from the printer.
	LevelsReadAt *time.Time `json:"levels_read_at,omitempty"`
	// TLSFingerprint is the SHA-256 fingerprint of the printer's TLS
	// certificate, as "SHA256:<hex>", when it was reached over IPPS.
	TLSFingerprint string `json:"tls_fingerprint,omitempty"`
	// Sources lists how the printer's data was obtained: "mdns", "ipp", "snmp".
	Sources []string `json:"sources,omitempty"`
	// Problems says, in words, why some of the data above is missing, e.g.
	// "IPP: no answer from 10.0.0.7:631 within 2s".
	Problems []string `json:"problems,omitempty"`
}

// Supply is one supply the printer reports: a consumable (an ink tank, a
// toner cartridge) or a part that fills or wears out (a waste ink tank, a
// drum); Kind says which.
type Supply struct {
	// Name is what the printer calls it, e.g. "PGBK" or "Cyan ink".
	Name string `json:"name"`
	// Type is the supply type as a PWG keyword in camelCase, e.g.
	// "inkCartridge", "toner", "wasteInk". Empty when unknown.
	Type string `json:"type,omitempty"`
	// Class is ClassConsumed or ClassReceptacle when the printer says
	// which (PWG printer-supply, SNMP prtMarkerSuppliesClass); empty
	// otherwise. See Kind.
	Class string `json:"class,omitempty"`
	// Colors are the sRGB colours of the supply, e.g. ["#00FFFF"]; a
	// multi-colour cartridge has several.
	Colors []string `json:"colors,omitempty"`
	// ColorName is the colorant name, e.g. "cyan", when known.
	ColorName string `json:"color_name,omitempty"`
	// Level is the remaining amount in percent (0-100), or one of
	// LevelOther, LevelUnknown, LevelSomeRemaining. For a receptacle
	// (Kind KindWaste) it is how full it is, in percent.
	Level int `json:"level"`
	// Low is the level at or below which the printer reports the supply as
	// low, in percent; 0 when the printer does not say.
	Low int `json:"low,omitempty"`
	// High is the level at or above which the supply is reported as full,
	// in percent; 0 when the printer does not say.
	High int `json:"high,omitempty"`
	// State is StateLow or StateEmpty when the printer says so of this
	// supply in words rather than by its level: a printer that reports
	// only "some remaining" tells when the ink is low through its
	// printer-state-reasons (see ApplyStateReasons). Empty otherwise.
	State string `json:"state,omitempty"`
}

// Known reports whether the supply's level is an actual percentage.
func (s Supply) Known() bool { return s.Level >= 0 && s.Level <= 100 }
