package printer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// maxDeviceIDLen bounds the IEEE 1284 device ID accepted by ParseDeviceID.
// The standard caps it at 65535 bytes; real printers send a few hundred.
const maxDeviceIDLen = 8192

// DeviceID is a parsed IEEE 1284 device ID, as sent in the IPP
// printer-device-id attribute, the DNS-SD usb_* keys or over USB.
//
// A device ID can hold secrets: Canon's PSE key is the printer's serial
// number, which doubles as the default admin password of its web server.
// DeviceID therefore never renders its raw text: String, GoString,
// LogValue and MarshalJSON show the serial masked (see MaskSerial).
type DeviceID struct {
	// Make is the manufacturer (MFG or MANUFACTURER), e.g. "Canon".
	Make string
	// Model is the model (MDL or MODEL), e.g. "TS8320 series".
	Model string
	// CommandSet lists the page description languages (CMD or COMMAND SET).
	CommandSet []string
	// Class is the device class (CLS or CLASS), e.g. "PRINTER".
	Class string
	// Description is the free-text description (DES or DESCRIPTION).
	Description string
	// Serial is the serial number from SN, Canon's PSE, SERN,
	// SERIALNUMBER or SER (Kyocera), in that order of preference. PSE
	// comes before SERN because a Canon read over USB sends both, and its
	// SERN is the USB serial (six hex digits), not the serial printed on
	// the printer.
	Serial string

	fields map[string]string
}

// ParseDeviceID parses an IEEE 1284 device ID such as
// "MFG:Canon;CMD:BJL,BJRaster3;MDL:TS8320 series;CLS:PRINTER;PSE:AB1234;".
//
// Keys are case-insensitive and surrounding white space is ignored; a
// backslash escapes the next character; a leading binary length prefix (as
// read from USB) is skipped. Pairs without a ':' are ignored. The first
// occurrence of a key wins. It returns an error when the input holds no
// key:value pair or is longer than 8 KiB.
func ParseDeviceID(s string) (DeviceID, error) {
	var id DeviceID
	if len(s) > maxDeviceIDLen {
		return id, fmt.Errorf("device ID too long (%d bytes)", len(s))
	}
	// Skip a USB length prefix (two bytes, big-endian, the first of which
	// is binary for any ID shorter than 8 KiB) and other leading junk.
	if len(s) >= 2 && s[0] < ' ' && s[0] != '\t' && s[0] != '\n' && s[0] != '\r' {
		s = s[2:]
	}
	s = strings.TrimLeftFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
	fields := map[string]string{}
	for _, pair := range splitEscaped(s, ';') {
		key, val, ok := cutEscaped(pair, ':')
		if !ok {
			continue
		}
		key = strings.ToUpper(strings.Join(strings.Fields(unescape(key)), " "))
		if key == "" {
			continue
		}
		if _, dup := fields[key]; dup {
			continue
		}
		fields[key] = cleanText(unescape(val))
	}
	if len(fields) == 0 {
		return id, errors.New("device ID has no KEY:value pairs")
	}
	id.fields = fields
	id.Make = first(fields, "MFG", "MANUFACTURER")
	id.Model = first(fields, "MDL", "MODEL")
	id.Class = first(fields, "CLS", "CLASS")
	id.Description = first(fields, "DES", "DESCRIPTION")
	id.Serial = first(fields, "SN", "PSE", "SERN", "SERIALNUMBER", "SERIAL NUMBER", "SER")
	if cmd := first(fields, "CMD", "COMMAND SET", "COMMANDSET"); cmd != "" {
		for c := range strings.SplitSeq(cmd, ",") {
			if c = strings.TrimSpace(c); c != "" {
				id.CommandSet = append(id.CommandSet, c)
			}
		}
	}
	return id, nil
}

// Get returns the value of key (case-insensitive), e.g. "VER", or "".
func (id DeviceID) Get(key string) string {
	return id.fields[strings.ToUpper(strings.TrimSpace(key))]
}

// Len returns how many keys the device ID holds.
func (id DeviceID) Len() int { return len(id.fields) }

// String describes the device ID with the serial masked. It never returns
// the raw device ID.
func (id DeviceID) String() string {
	return fmt.Sprintf("DeviceID{Make:%q Model:%q Class:%q Serial:%q CommandSet:%q}",
		id.Make, id.Model, id.Class, MaskSerial(id.Serial), id.CommandSet)
}

// GoString is like String, so that %#v does not print the serial either.
func (id DeviceID) GoString() string { return id.String() }

// LogValue implements slog.LogValuer with the serial masked.
func (id DeviceID) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("make", id.Make),
		slog.String("model", id.Model),
		slog.String("serial", MaskSerial(id.Serial)),
	)
}

// MarshalJSON encodes the parsed fields with the serial masked.
func (id DeviceID) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Make        string   `json:"make,omitempty"`
		Model       string   `json:"model,omitempty"`
		CommandSet  []string `json:"command_set,omitempty"`
		Class       string   `json:"class,omitempty"`
		Description string   `json:"description,omitempty"`
		Serial      string   `json:"serial,omitempty"`
	}{id.Make, id.Model, id.CommandSet, id.Class, id.Description, MaskSerial(id.Serial)})
}

func first(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}

// splitEscaped splits s at sep, except where sep follows a backslash.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// cutEscaped is strings.Cut that ignores a backslash-escaped sep.
func cutEscaped(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unescape removes backslash escapes.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
