package ipp

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// maxIpptoolText bounds the text ParseIpptool accepts; the output for a
// printer's full attribute set is some tens of kilobytes.
const maxIpptoolText = 4 << 20

// ipptoolTags maps the attribute syntaxes ipptool prints to IPP value
// tags. Syntaxes not listed (collection, rangeOfInteger, resolution,
// dateTime, ...) are skipped: arsctl reads none of them.
var ipptoolTags = map[string]goipp.Tag{
	"integer":             goipp.TagInteger,
	"boolean":             goipp.TagBoolean,
	"enum":                goipp.TagEnum,
	"keyword":             goipp.TagKeyword,
	"uri":                 goipp.TagURI,
	"uriScheme":           goipp.TagURIScheme,
	"charset":             goipp.TagCharset,
	"naturalLanguage":     goipp.TagLanguage,
	"mimeMediaType":       goipp.TagMimeType,
	"textWithoutLanguage": goipp.TagText,
	"nameWithoutLanguage": goipp.TagName,
	"octetString":         goipp.TagString,
}

// ipptoolEnums are the enum values ipptool prints by name that arsctl
// reads: printer-state.
var ipptoolEnums = map[string]int{"idle": 3, "processing": 4, "stopped": 5}

// operationAttrs are the attributes that belong to a response's operation
// group rather than to the printer.
var operationAttrs = map[string]bool{
	"attributes-charset": true, "attributes-natural-language": true, "status-message": true,
}

// ParseIpptool parses what `ipptool -tv URI get-printer-attributes.test`
// prints (the form in which people publish their printers' answers) into
// the operation and printer attributes of the response. Lines of the form
// "name (syntax) = value,value" are read; when the text holds ipptool's
// "[PASS]" or "[FAIL]" line, only the lines after it (the response, not the
// request) are. Lines starting with '#' are comments. Values of syntaxes
// arsctl does not read (collections, ranges, resolutions, dates) and enums
// printed by a name other than a printer-state are skipped. It returns an
// error naming the line when a value does not fit its syntax, and when the
// text holds no printer attribute.
func ParseIpptool(text []byte) (op, printer goipp.Attributes, err error) {
	if len(text) > maxIpptoolText {
		return nil, nil, fmt.Errorf("ipptool output too long (%d bytes)", len(text))
	}
	lines := strings.Split(string(text), "\n")
	start := 0
	for i, l := range lines {
		if strings.Contains(l, "[PASS]") || strings.Contains(l, "[FAIL]") {
			start = i + 1
			break
		}
	}
	for i := start; i < len(lines); i++ {
		line := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, syntax, value, ok := splitIpptoolLine(line)
		if !ok {
			continue // "RECEIVED: ...", "status-code = ...", test names
		}
		tag, known := ipptoolTags[strings.TrimPrefix(syntax, "1setOf ")]
		if !known {
			continue
		}
		vals, err := ipptoolValues(name, tag, value)
		if err != nil {
			return nil, nil, fmt.Errorf("ipptool output line %d: %w", i+1, err)
		}
		if len(vals) == 0 {
			continue
		}
		a := goipp.Attribute{Name: name}
		for _, v := range vals {
			a.Values.Add(tag, v)
		}
		if operationAttrs[name] {
			op.Add(a)
		} else {
			printer.Add(a)
		}
	}
	if len(printer) == 0 {
		return nil, nil, errors.New("ipptool output holds no printer attribute")
	}
	return op, printer, nil
}

// splitIpptoolLine splits "name (syntax) = value" into its parts.
func splitIpptoolLine(line string) (name, syntax, value string, ok bool) {
	open := strings.Index(line, " (")
	if open <= 0 {
		return "", "", "", false
	}
	rest := line[open+2:]
	closeAt := strings.Index(rest, ")")
	if closeAt < 0 {
		return "", "", "", false
	}
	name, syntax, rest = line[:open], rest[:closeAt], rest[closeAt+1:]
	if !strings.HasPrefix(rest, " =") || strings.ContainsAny(name, " \t=") {
		return "", "", "", false
	}
	return name, syntax, strings.TrimSpace(rest[2:]), true
}

// ipptoolValues splits a printed value list at its unescaped commas and
// converts each value to tag's type.
func ipptoolValues(name string, tag goipp.Tag, value string) ([]goipp.Value, error) {
	var out []goipp.Value
	for _, s := range splitUnescaped(value) {
		switch tag {
		case goipp.TagInteger:
			n, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not an integer", name, s)
			}
			out = append(out, goipp.Integer(n))
		case goipp.TagEnum:
			n, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				e, ok := ipptoolEnums[s]
				if !ok || name != "printer-state" {
					return nil, nil // an enum arsctl does not read
				}
				n = int64(e)
			}
			out = append(out, goipp.Integer(n))
		case goipp.TagBoolean:
			b, err := strconv.ParseBool(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a boolean", name, s)
			}
			out = append(out, goipp.Boolean(b))
		case goipp.TagString:
			out = append(out, goipp.Binary(s))
		default:
			out = append(out, goipp.String(s))
		}
	}
	return out, nil
}

// splitUnescaped splits s at commas not preceded by a backslash and
// removes the backslash escapes; an empty s is one empty value.
func splitUnescaped(s string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case s[i] == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(s[i])
		}
	}
	return append(out, b.String())
}

// CaptureResponse returns the Get-Printer-Attributes response body that a
// capture of a real printer's answer holds: the capture itself when it is
// a raw IPP message, else the response rebuilt from ipptool's text (see
// ParseIpptool). Files of testdata/ipp are of either form; DecodeResponse
// and the printer simulator take what it returns.
func CaptureResponse(capture []byte) ([]byte, error) {
	var msg goipp.Message
	if err := msg.DecodeBytesEx(capture, goipp.DecoderOptions{EnableWorkarounds: true}); err == nil {
		return capture, nil
	}
	op, attrs, err := ParseIpptool(capture)
	if err != nil {
		return nil, fmt.Errorf("capture is neither an IPP message nor ipptool output: %w", err)
	}
	resp := goipp.NewResponse(goipp.DefaultVersion, goipp.StatusOk, 1)
	// The operation group starts with the charset and the language.
	for _, d := range []struct {
		name string
		tag  goipp.Tag
		def  string
	}{{"attributes-charset", goipp.TagCharset, "utf-8"}, {"attributes-natural-language", goipp.TagLanguage, "en"}} {
		a := goipp.MakeAttribute(d.name, d.tag, goipp.String(d.def))
		for _, o := range op {
			if o.Name == d.name {
				a = o
			}
		}
		resp.Operation.Add(a)
	}
	for _, o := range op {
		if o.Name != "attributes-charset" && o.Name != "attributes-natural-language" {
			resp.Operation.Add(o)
		}
	}
	resp.Printer = attrs
	var buf bytes.Buffer
	if err := resp.Encode(&buf); err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return buf.Bytes(), nil
}
