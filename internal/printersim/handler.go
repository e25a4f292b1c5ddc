package printersim

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/arsctl/arsctl/pkg/printer"
)

// ServeHTTP answers IPP requests on the configured path and a small admin
// page on "/".
func (p *Printer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch Mode(p.mode.Load()) {
	case ModeClose:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case ModeHang:
		select {
		case <-r.Context().Done():
		case <-p.closing:
		}
		return
	}
	if r.Method == http.MethodGet && (r.URL.Path == "/" || r.URL.Path == "/index.html") {
		p.serveAdmin(w)
		return
	}
	if r.URL.Path != p.cfg.Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "IPP requests must be POSTed", http.StatusMethodNotAllowed)
		return
	}
	if d := p.cfg.Delay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-p.closing:
			t.Stop()
			return
		}
	}
	var req goipp.Message
	if err := req.Decode(io.LimitReader(r.Body, 1<<20)); err != nil {
		http.Error(w, "bad IPP request: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp := p.answer(&req, r)
	body, err := resp.EncodeBytes()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", goipp.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func (p *Printer) serveAdmin(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s</h1><p>Simulated printer.</p>\n",
		html.EscapeString(p.cfg.Name), html.EscapeString(p.cfg.Name))
}

// answer builds the response to one IPP request.
func (p *Printer) answer(req *goipp.Message, r *http.Request) *goipp.Message {
	version := req.Version
	if version > goipp.DefaultVersion || version < goipp.MakeVersion(1, 0) {
		version = goipp.DefaultVersion
	}
	resp := goipp.NewResponse(version, goipp.StatusOk, req.RequestID)
	resp.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	resp.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	// RFC 8011 4.1.4: the first two operation attributes are the charset
	// and the natural language.
	if len(req.Operation) < 2 || req.Operation[0].Name != "attributes-charset" ||
		req.Operation[1].Name != "attributes-natural-language" {
		resp.Code = goipp.Code(goipp.StatusErrorBadRequest)
		resp.Operation.Add(goipp.MakeAttribute("status-message", goipp.TagText,
			goipp.String("attributes-charset and attributes-natural-language must come first")))
		return resp
	}
	if goipp.Op(req.Code) != goipp.OpGetPrinterAttributes {
		resp.Code = goipp.Code(goipp.StatusErrorOperationNotSupported)
		resp.Operation.Add(goipp.MakeAttribute("status-message", goipp.TagText,
			goipp.String("operation "+goipp.Op(req.Code).String()+" not supported")))
		return resp
	}
	requested := map[string]bool{}
	for _, a := range req.Operation {
		if a.Name == "requested-attributes" {
			for _, v := range a.Values {
				requested[v.V.String()] = true
			}
		}
	}
	all := len(requested) == 0 || requested["all"] || requested["printer-description"]
	for _, a := range p.attributes(r) {
		if all || requested[a.Name] {
			resp.Printer.Add(a)
		}
	}
	return resp
}

// stateIdle is the IPP printer-state the simulator always reports (3,
// idle; it never prints).
const stateIdle = 3

// attributes returns the printer attributes a Canon PIXMA sends, or those
// of the captured printer.
func (p *Printer) attributes(r *http.Request) goipp.Attributes {
	supplies := p.snapshot()
	if p.captured != nil {
		return p.capturedAttributes(r, supplies)
	}
	cfg := p.cfg
	host := r.Host
	if host == "" {
		host = p.addr
	}
	scheme := "ipp"
	if r.TLS != nil {
		scheme = "ipps"
	}
	var attrs goipp.Attributes
	add := func(name string, tag goipp.Tag, v goipp.Value, more ...goipp.Value) {
		attrs.Add(goipp.MakeAttr(name, tag, v, more...))
	}
	str := func(s string) goipp.Value { return goipp.String(s) }
	add("printer-uri-supported", goipp.TagURI, str(scheme+"://"+host+cfg.Path))
	add("uri-security-supported", goipp.TagKeyword, str(map[bool]string{true: "tls", false: "none"}[r.TLS != nil]))
	add("printer-name", goipp.TagName, str(strings.ReplaceAll(cfg.Make+"_"+cfg.Model, " ", "_")))
	add("printer-info", goipp.TagText, str(cfg.Name))
	add("printer-make-and-model", goipp.TagText, str(cfg.Make+" "+cfg.Model))
	add("printer-device-id", goipp.TagText, str(p.deviceID()))
	add("printer-uuid", goipp.TagURI, str("urn:uuid:"+cfg.UUID))
	add("printer-more-info", goipp.TagURI, str("http://"+host+"/index.html"))
	add("printer-location", goipp.TagText, str(""))
	add("printer-state", goipp.TagEnum, goipp.Integer(stateIdle))
	reasons := stateReasons(supplies)
	add("printer-state-reasons", goipp.TagKeyword, str(reasons[0]), func() (vs []goipp.Value) {
		for _, r := range reasons[1:] {
			vs = append(vs, str(r))
		}
		return vs
	}()...)
	add("printer-is-accepting-jobs", goipp.TagBoolean, goipp.Boolean(true))
	add("printer-firmware-string-version", goipp.TagText, str("1.030"))
	add("ipp-versions-supported", goipp.TagKeyword, str("1.0"), str("1.1"), str("2.0"))
	add("document-format-supported", goipp.TagMimeType, str("application/octet-stream"),
		str("image/urf"), str("image/pwg-raster"), str("image/jpeg"))
	if len(supplies) > 0 {
		var names, colors, types, levels, low, high, supply, desc []goipp.Value
		for i, s := range supplies {
			names = append(names, str(s.Name))
			colors = append(colors, str(s.Color))
			types = append(types, str(s.Type))
			levels = append(levels, goipp.Integer(s.Level))
			low = append(low, goipp.Integer(simLowLevel))
			high = append(high, goipp.Integer(100))
			class := printer.ClassConsumed
			if (printer.Supply{Name: s.Name, Type: s.Type}).Kind() == printer.KindWaste {
				class = printer.ClassReceptacle
			}
			supply = append(supply, goipp.Binary(fmt.Sprintf(
				"index=%d;class=%s;type=%s;unit=percent;maxcapacity=100;level=%d;colorantname=%s;",
				i+1, class, s.Type, s.Level, s.Colorant)))
			desc = append(desc, str(s.Description))
		}
		add("marker-names", goipp.TagName, names[0], names[1:]...)
		add("marker-colors", goipp.TagName, colors[0], colors[1:]...)
		add("marker-types", goipp.TagKeyword, types[0], types[1:]...)
		add("marker-levels", goipp.TagInteger, levels[0], levels[1:]...)
		add("marker-low-levels", goipp.TagInteger, low[0], low[1:]...)
		add("marker-high-levels", goipp.TagInteger, high[0], high[1:]...)
		add("printer-supply", goipp.TagString, supply[0], supply[1:]...)
		add("printer-supply-description", goipp.TagText, desc[0], desc[1:]...)
	}
	return attrs
}

// deviceID is the IEEE 1284 device ID a Canon PIXMA sends, serial in PSE.
func (p *Printer) deviceID() string {
	c := p.cfg
	id := "MFG:" + c.Make + ";CMD:BJL,BJRaster3,BSCCe,NCCe,IVEC,IVECPLI,PCLm,PWGRaster,URF;" +
		"MDL:" + c.Model + ";CLS:PRINTER;DES:" + c.Make + " " + c.Model + ";VER:1.030;" +
		"STA:10;FSI:03;HRI:1;MSI:1,2,3;PST:2;"
	if c.SerialOverSNMPOnly {
		return id
	}
	return id + "PSE:" + c.Serial + ";"
}

// capturedAttributes are the captured printer's attributes with this
// simulator's URI and the current marker levels, and the simulator's
// identity when the capture has none.
func (p *Printer) capturedAttributes(r *http.Request, supplies []Supply) goipp.Attributes {
	scheme := "ipp"
	if r.TLS != nil {
		scheme = "ipps"
	}
	host := r.Host
	if host == "" {
		host = p.addr
	}
	out := make(goipp.Attributes, 0, len(p.captured)+4)
	identified, hasURI := false, false
	for _, a := range p.captured {
		switch a.Name {
		case "printer-device-id", "printer-make-and-model":
			identified = true
		case "printer-uri-supported":
			hasURI = true
		}
	}
	if !hasURI {
		out.Add(goipp.MakeAttribute("printer-uri-supported", goipp.TagURI, goipp.String(scheme+"://"+host+p.cfg.Path)))
	}
	if !identified {
		c := p.cfg
		out.Add(goipp.MakeAttribute("printer-make-and-model", goipp.TagText, goipp.String(c.Make+" "+c.Model)))
		out.Add(goipp.MakeAttribute("printer-device-id", goipp.TagText, goipp.String(p.deviceID())))
		out.Add(goipp.MakeAttribute("printer-uuid", goipp.TagURI, goipp.String("urn:uuid:"+c.UUID)))
	}
	for _, a := range p.captured {
		switch a.Name {
		case "printer-uri-supported":
			a = goipp.MakeAttribute(a.Name, goipp.TagURI, goipp.String(scheme+"://"+host+p.cfg.Path))
		case "marker-levels":
			if len(supplies) > 0 {
				vals := make([]goipp.Value, len(supplies))
				for i, s := range supplies {
					vals[i] = goipp.Integer(s.Level)
				}
				a = goipp.MakeAttr(a.Name, goipp.TagInteger, vals[0], vals[1:]...)
			}
		}
		out = append(out, a)
	}
	return out
}

// simLowLevel is the simulator's marker-low-levels for every supply.
const simLowLevel = 15

// stateReasons are the printer-state-reasons of a printer with these
// supplies, as real ones send them: marker-supply-low-warning when an
// ink is at or below its low mark or said low (toner-low-warning for a
// toner), marker-supply-empty-error when one is empty (toner-empty-error),
// else none.
func stateReasons(supplies []Supply) []string {
	var out []string
	for _, s := range supplies {
		sp := printer.Supply{Name: s.Name, Type: printer.NormalizeSupplyType(s.Type)}
		if !sp.Reorderable() {
			continue
		}
		state := s.Says
		switch {
		case state != "":
		case s.Level == 0:
			state = printer.StateEmpty
		case s.Level > 0 && s.Level <= simLowLevel:
			state = printer.StateLow
		default:
			continue
		}
		r := "marker-supply-" + state
		if sp.Kind() == printer.KindToner {
			r = "toner-" + state
		}
		if state == printer.StateEmpty {
			r += "-error"
		} else {
			r += "-warning"
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}
