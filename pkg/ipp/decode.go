package ipp

import (
	"errors"
	"fmt"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/arsctl/arsctl/pkg/printer"
)

// RequestedAttributes are the printer attributes GetPrinterAttributes asks
// for.
var RequestedAttributes = []string{
	"printer-make-and-model",
	"printer-device-id",
	"printer-uuid",
	"printer-info",
	"printer-name",
	"printer-state",
	"printer-state-reasons",
	"printer-more-info",
	"marker-names",
	"marker-colors",
	"marker-types",
	"marker-levels",
	"marker-low-levels",
	"marker-high-levels",
	"printer-supply",
	"printer-supply-description",
}

// ErrMalformed is wrapped by errors about responses that are not valid IPP.
var ErrMalformed = errors.New("malformed response")

// StatusError is an IPP response whose status code is an error, e.g.
// client-error-not-found.
type StatusError struct {
	// Status is the IPP status code.
	Status goipp.Status
	// Message is the status-message operation attribute, if any.
	Message string
}

// Error describes the status, e.g. "printer answered
// client-error-not-found: no such printer".
func (e *StatusError) Error() string {
	s := "printer answered " + e.Status.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// DecodeResponse decodes the body of a Get-Printer-Attributes response into
// a Printer. It returns an error wrapping ErrMalformed when body is not an
// IPP message, and a *StatusError when the printer answered with an error
// status. It never panics, whatever body holds.
func DecodeResponse(body []byte) (*printer.Printer, error) {
	var msg goipp.Message
	if err := msg.DecodeBytesEx(body, goipp.DecoderOptions{EnableWorkarounds: true}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if st := goipp.Status(msg.Code); st >= 0x0400 {
		return nil, &StatusError{Status: st, Message: firstString(msg.Operation, "status-message")}
	}
	if len(msg.Printer) == 0 {
		return nil, fmt.Errorf("%w: no printer attributes", ErrMalformed)
	}
	return FromAttributes(msg.Printer), nil
}

// FromAttributes maps IPP printer attributes to a Printer: make and model
// (from printer-device-id MFG/MDL, else printer-make-and-model), serial
// (from printer-device-id SN, PSE, SERN, SERIALNUMBER or SER), UUID, name
// (printer-info, else printer-name), state, admin URL (printer-more-info)
// and supplies (marker-*, completed from printer-supply, named uniquely
// (printer.UniqueNames), with what printer-state-reasons says of them:
// printer.ApplyStateReasons). The raw device ID is not kept.
func FromAttributes(attrs goipp.Attributes) *printer.Printer {
	p := &printer.Printer{Sources: []string{"ipp"}}
	byName := make(map[string]goipp.Values, len(attrs))
	for _, a := range attrs {
		if _, dup := byName[a.Name]; !dup {
			byName[a.Name] = a.Values
		}
	}
	str := func(name string) string {
		if v := stringValues(byName[name]); len(v) > 0 {
			return v[0]
		}
		return ""
	}

	mk, model := printer.SplitMakeModel(str("printer-make-and-model"))
	if raw := str("printer-device-id"); raw != "" {
		if id, err := printer.ParseDeviceID(raw); err == nil {
			if id.Make != "" {
				mk = id.Make
				if id.Model != "" {
					model = id.Model
				}
			}
			p.Serial = id.Serial
		}
	}
	p.Make = printer.NormalizeMake(mk)
	p.Model = printer.NormalizeModel(mk, model)
	p.UUID = printer.NormalizeUUID(str("printer-uuid"))
	p.Name = printer.CleanText(str("printer-info"))
	if p.Name == "" {
		p.Name = printer.CleanText(str("printer-name"))
	}
	p.AdminURL = printer.CleanText(str("printer-more-info"))
	if st := intValues(byName["printer-state"]); len(st) > 0 {
		switch st[0] {
		case 3:
			p.State = "idle"
		case 4:
			p.State = "processing"
		case 5:
			p.State = "stopped"
		}
	}

	markers := printer.FromMarkers(
		stringValues(byName["marker-names"]),
		stringValues(byName["marker-colors"]),
		stringValues(byName["marker-types"]),
		intValues(byName["marker-levels"]),
		intValues(byName["marker-low-levels"]),
		intValues(byName["marker-high-levels"]),
	)
	supplies := printer.FromPrinterSupply(
		stringValues(byName["printer-supply"]),
		stringValues(byName["printer-supply-description"]),
	)
	p.Supplies = printer.UniqueNames(printer.MergeSupplies(markers, supplies))
	var unsaid []string
	p.Supplies, unsaid = printer.ApplyStateReasons(p.Supplies, stringValues(byName["printer-state-reasons"]))
	for _, r := range unsaid {
		p.Problems = append(p.Problems, "IPP: the printer says "+r+", but not which")
	}
	if len(p.Supplies) > 0 {
		now := time.Now().UTC()
		p.LevelsReadAt = &now
	}
	return p
}

// stringValues returns the textual values: strings, texts with language and
// octet strings (as bytes). Values of other types are skipped.
func stringValues(vals goipp.Values) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		switch v := v.V.(type) {
		case goipp.String:
			out = append(out, string(v))
		case goipp.TextWithLang:
			out = append(out, v.Text)
		case goipp.Binary:
			out = append(out, string(v))
		}
	}
	return out
}

// intValues returns the integer values; other types become LevelUnknown so that
// indexes still line up.
func intValues(vals goipp.Values) []int {
	out := make([]int, 0, len(vals))
	for _, v := range vals {
		if i, ok := v.V.(goipp.Integer); ok {
			out = append(out, int(i))
		} else {
			out = append(out, printer.LevelUnknown)
		}
	}
	return out
}

func firstString(attrs goipp.Attributes, name string) string {
	for _, a := range attrs {
		if a.Name == name {
			if v := stringValues(a.Values); len(v) > 0 {
				return printer.CleanText(v[0])
			}
		}
	}
	return ""
}
