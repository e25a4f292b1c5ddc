package register

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

// Row is one printer of a fleet CSV file.
type Row struct {
	// Line is the line number in the file (1 is the header).
	Line     int
	Host     string
	Serial   string
	Provider string
	Label    string
	// Model is the eligible model the printer is, for a printer whose
	// series covers several (optional "model" column).
	Model string
	// Subnet is an address range to sweep for a printer named by serial
	// (optional "subnet" column: a CIDR prefix or FIRST-LAST).
	Subnet string
	// Err says why the row cannot be used; such rows are reported, not
	// enrolled.
	Err error
}

// maxFleetLine bounds one CSV line.
const maxFleetLine = 64 << 10

// ParseFleetCSV reads a fleet file: a header row naming the columns
// (host or serial, provider, label, model, subnet; case-insensitive; "address" and
// "nickname" are accepted too; other columns are ignored), then one
// printer per line. Blank lines and lines starting with # are skipped.
// A bad row is returned with Err set; only a bad or missing header fails
// the whole file.
func ParseFleetCSV(r io.Reader) ([]Row, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxFleetLine)
	col := map[string]int{}
	var rows []Row
	seen := map[string]int{}
	header := false
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cr := csv.NewReader(strings.NewReader(text))
		cr.TrimLeadingSpace = true
		cr.FieldsPerRecord = -1
		fields, err := cr.Read()
		if !header {
			if err != nil {
				return nil, fmt.Errorf("line %d: the header row is not valid CSV: %v", line, err)
			}
			for i, f := range fields {
				name := strings.ToLower(strings.TrimSpace(f))
				switch name {
				case "address", "addr":
					name = "host"
				case "nickname", "name":
					name = "label"
				}
				if _, dup := col[name]; !dup {
					col[name] = i
				}
			}
			_, hasHost := col["host"]
			_, hasSerial := col["serial"]
			if !hasHost && !hasSerial {
				return nil, fmt.Errorf("line %d: the header row must name a host or a serial column (e.g. \"host,provider,label\"), got %q", line, text)
			}
			header = true
			continue
		}
		row := Row{Line: line}
		if err != nil {
			row.Err = fmt.Errorf("not valid CSV: %v", unwrapCSV(err))
			rows = append(rows, row)
			continue
		}
		get := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(fields) {
				return ""
			}
			return strings.TrimSpace(fields[i])
		}
		row.Host, row.Serial, row.Provider, row.Label = get("host"), get("serial"), strings.ToLower(get("provider")), get("label")
		row.Model = get("model")
		row.Subnet = get("subnet")
		switch {
		case row.Host == "" && row.Serial == "":
			row.Err = errors.New("no host and no serial")
		case row.Serial != "" && printer.CheckSerial(row.Serial) != nil:
			row.Err = fmt.Errorf("serial column: %v", printer.CheckSerial(row.Serial))
		case row.Provider != "" && !slices.Contains(provider.Names(), row.Provider):
			row.Err = fmt.Errorf("unknown provider %q (%s)", row.Provider, providerChoices())
		case len(row.Label) > 200:
			row.Err = errors.New("label longer than 200 characters")
		case row.Subnet != "":
			if _, err := discovery.ParseRange(row.Subnet); err != nil {
				row.Err = err
			}
		}
		if row.Err == nil {
			key := "h:" + strings.ToLower(row.Host)
			if row.Host == "" {
				key = "s:" + strings.ToLower(row.Serial)
			}
			if prev, ok := seen[key]; ok {
				row.Err = fmt.Errorf("the same printer as line %d", prev)
			} else {
				seen[key] = line
			}
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if !header {
		return nil, errors.New("the file is empty: it needs a header row (e.g. \"host,provider,label\") and one printer per line")
	}
	return rows, nil
}

func unwrapCSV(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// FleetResult is one printer's outcome of a fleet enrollment.
type FleetResult struct {
	Line     int    `json:"line,omitempty"`
	Host     string `json:"host,omitempty"`
	Model    string `json:"model,omitempty"`
	Serial   string `json:"serial,omitempty"` // masked
	Provider string `json:"provider,omitempty"`
	Label    string `json:"label,omitempty"`
	// Status is enrolled, already-enrolled, pending (Amazon sign-in
	// needed: SignInURL), skipped or failed (Error).
	Status       string `json:"status"`
	EnrollmentID string `json:"enrollment_id,omitempty"`
	SignInURL    string `json:"sign_in_url,omitempty"`
	Error        string `json:"error,omitempty"`
}

func fleetRun(ctx context.Context, opts *RegisterOptions) error {
	ios := opts.IO
	if !opts.AgreeTerms {
		return cmdutil.FlagErrorf("--agree-terms is required with --from and --all-eligible (fleet enrollment never prompts)")
	}
	var rows []Row
	if opts.From != "" {
		var r io.Reader
		if opts.From == "-" {
			r = ios.In
		} else {
			fh, err := os.Open(opts.From)
			if err != nil {
				return cmdutil.FlagErrorf("--from: %v", err)
			}
			defer fh.Close()
			r = fh
		}
		var err error
		rows, err = ParseFleetCSV(r)
		if err != nil {
			return cmdutil.FlagErrorf("--from %s: %v", opts.From, err)
		}
	}

	pub, err := opts.PublicClient()
	if err != nil {
		return err
	}
	terms, err := pub.Terms(ctx)
	if err != nil {
		return err
	}
	agreedNote(opts.IO, terms)
	// The catalogue is read once, for every row.
	models, err := pub.Models(ctx)
	if err != nil {
		return err
	}
	c, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defProvider := opts.Provider
	if defProvider == "" && opts.DefaultProvider != nil {
		defProvider = opts.DefaultProvider()
	}

	// Printers named by serial only, and --all-eligible, need discovery.
	needDiscovery := opts.AllEligible
	for _, r := range rows {
		if r.Err == nil && r.Host == "" {
			needDiscovery = true
		}
	}
	var discovered []printer.Printer
	var discoverErr error
	if needDiscovery {
		disc, err := withSubnets(opts, rows)
		if err != nil {
			return err
		}
		discovered, discoverErr = resolve.FindPrinters(ctx, ios, resolve.FindOptions{Hosts: opts.Hosts, Timeout: opts.Timeout, IPP: opts.IPP, Discovery: disc})
		if discoverErr != nil && opts.AllEligible {
			return discoverErr
		}
	}
	known := map[int]printer.Printer{}
	if opts.AllEligible {
		skipped := 0
		for _, p := range discovered {
			if !provider.Check(models, p.Make, p.Model).OK {
				skipped++
				continue
			}
			rows = append(rows, Row{Line: 0, Host: resolve.Address(p), Serial: p.Serial})
			known[len(rows)-1] = p
		}
		if skipped > 0 {
			ios.Warning("%d printer(s) found are not eligible models and were left out", skipped)
		}
		if len(rows) == 0 {
			return fmt.Errorf("none of the %d printer(s) found is an eligible model", len(discovered)) // not eligible: exit 1, as for one printer
		}
	}

	// One provider of each kind for all rows.
	provs := map[string]provider.Provider{}
	for _, name := range provider.Names() {
		provs[name], _ = provider.Get(name, c)
	}

	results := make([]FleetResult, len(rows))
	done := make([]chan struct{}, len(rows))
	for i := range done {
		done[i] = make(chan struct{})
	}
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	ios.StartProgress(fmt.Sprintf("Enrolling %d printers…", len(rows)))
	for i, row := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = FleetResult{Line: row.Line, Host: row.Host, Status: "failed", Error: ctx.Err().Error()}
				return
			}
			defer func() { <-sem }()
			p, havePrinter := known[i]
			results[i] = enrollRow(ctx, opts, provs, row, p, havePrinter, discovered, discoverErr, defProvider, terms, models)
		}()
	}

	// Print in file order as results arrive.
	failed, counts := 0, map[string]int{}
	var printErr error
	table := tableprinter.NewStream(ios, fleetColumns...)
	for i := range rows {
		<-done[i]
		r := results[i]
		counts[r.Status]++
		if r.Status == "failed" {
			failed++
		}
		if opts.Output.Machine() || printErr != nil {
			continue
		}
		ios.StopProgress()
		printErr = printFleetLine(table, r)
	}
	wg.Wait()
	ios.StopProgress()
	if printErr != nil {
		return printErr
	}
	if opts.Output.Machine() {
		if err := cmdutil.WriteJSON(ios.Out, results, opts.Output.JQ); err != nil {
			return err
		}
	}
	fmt.Fprintf(ios.ErrOut, "%d printer(s): %d enrolled, %d already enrolled, %d pending sign-in, %d failed\n",
		len(rows), counts["enrolled"], counts["already-enrolled"], counts["pending"], failed)
	if failed > 0 {
		return cmdutil.SilentExit(cmdutil.ExitFailure)
	}
	return nil
}

// fleetColumns are the columns of a fleet's results on a terminal; the
// last, the enrollment or what went wrong, takes the rest of the line.
var fleetColumns = []tableprinter.Column{
	{Header: "RESULT", Width: 16, Whole: true},
	{Header: "PRINTER", Width: 21},
	{Header: "MODEL", Width: 8},
	{Header: "PROVIDER", Width: 8, Spare: 1},
	{Header: "ENROLLMENT OR ERROR", Width: 36},
}

// printFleetLine prints one result: status, the printer's host (its
// serial, or the CSV line, when there is no host), model, provider and
// the enrollment or the error.
func printFleetLine(t *tableprinter.Stream, r FleetResult) error {
	where := r.Host
	switch {
	case where != "":
	case r.Serial != "":
		where = "serial " + r.Serial
	case r.Line > 0:
		where = fmt.Sprintf("line %d", r.Line)
	default:
		where = "-"
	}
	detail := r.EnrollmentID
	switch r.Status {
	case "failed", "skipped":
		detail = r.Error
	case "pending":
		detail = r.EnrollmentID + " sign in at " + r.SignInURL
	}
	return t.Row(r.Status, where, resolve.OrDash(r.Model), resolve.OrDash(r.Provider), detail)
}

// enrollRow enrolls the printer of one row.
func enrollRow(ctx context.Context, opts *RegisterOptions, provs map[string]provider.Provider, row Row, p printer.Printer, havePrinter bool,
	discovered []printer.Printer, discoverErr error, defProvider string, terms arsapi.Terms, models []arsapi.Model) FleetResult {
	res := FleetResult{Line: row.Line, Host: row.Host, Provider: row.Provider, Label: row.Label}
	if row.Serial != "" && row.Err == nil {
		res.Serial = resolve.Serial(row.Serial)
	}
	fail := func(err error) FleetResult {
		res.Status, res.Error = "failed", strings.ReplaceAll(err.Error(), "\n", " ")
		return res
	}
	if row.Err != nil {
		return fail(row.Err)
	}
	if res.Provider == "" {
		res.Provider = defProvider
	}
	if res.Provider == "" {
		return fail(errors.New("no provider: add a provider column or pass --provider"))
	}
	prov, ok := provs[res.Provider]
	if !ok {
		return fail(fmt.Errorf("unknown provider %q (%s)", res.Provider, providerChoices()))
	}
	if !havePrinter {
		if row.Host != "" {
			var err error
			dopts := opts.Discovery
			dopts.Timeout, dopts.IPP = opts.Timeout, opts.IPP
			p, err = discovery.ProbeHost(ctx, row.Host, dopts)
			if err != nil {
				return fail(err)
			}
			if row.Serial != "" && !strings.EqualFold(row.Serial, p.Serial) {
				return fail(fmt.Errorf("the printer at %s reports serial %s, not the %s in the file", row.Host, resolve.Serial(p.Serial), resolve.Serial(row.Serial)))
			}
		} else {
			if discoverErr != nil {
				return fail(discoverErr)
			}
			found := false
			for _, d := range discovered {
				if strings.EqualFold(d.Serial, row.Serial) {
					p, found = d, true
					break
				}
			}
			if !found {
				return fail(fmt.Errorf("no printer with serial %s was found on the network; add its host", resolve.Serial(row.Serial)))
			}
			res.Host = resolve.Address(p)
		}
	}
	res.Model, res.Serial = p.Model, resolve.Serial(p.Serial)
	if err := checkPrinter(p); err != nil {
		return fail(err)
	}
	model := row.Model
	if model == "" {
		model = opts.Model
	}
	enr, err := prov.Enroll(ctx, p, provider.EnrollOptions{TermsVersion: terms.Version, Label: row.Label, Model: model, Models: models})
	if amb, ok := errors.AsType[*provider.AmbiguousModelError](err); ok {
		return fail(fmt.Errorf("the printer reports %q, which may be the %s: add a model column (or --model)", amb.Reported, strings.Join(amb.Candidates, " or the ")))
	}
	if err != nil {
		return fail(enrollErr(err))
	}
	// The model as the service enrolled it, as single register prints it.
	res.EnrollmentID, res.Provider, res.Model = enr.ID, string(enr.Provider), enr.Printer.Model
	switch {
	case enr.NeedsSignIn():
		res.Status, res.SignInURL = "pending", enr.SignInURL()
	case enr.Existing:
		res.Status = "already-enrolled"
	default:
		res.Status = "enrolled"
	}
	return res
}

// withSubnets adds the subnet column's ranges of the rows that need
// discovery to the discovery options.
func withSubnets(opts *RegisterOptions, rows []Row) (discovery.Options, error) {
	d := opts.Discovery
	d.Sweep.Ranges = slices.Clone(d.Sweep.Ranges)
	for _, r := range rows {
		if r.Err != nil || r.Host != "" || r.Subnet == "" {
			continue
		}
		rg, err := discovery.ParseRange(r.Subnet)
		if err == nil && !slices.Contains(d.Sweep.Ranges, rg) {
			d.Sweep.Ranges = append(d.Sweep.Ranges, rg)
		}
	}
	if len(d.Sweep.Ranges) > 0 {
		if err := d.Sweep.Validate(); err != nil {
			return d, cmdutil.FlagErrorf("the file's subnet column: %v; give smaller ranges, or --allow-large-sweep", err)
		}
	}
	return d, nil
}
