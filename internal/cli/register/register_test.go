package register

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/prompt"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

func TestNewCmdRegisterFlags(t *testing.T) {
	tests := []struct {
		args    string
		want    func(*RegisterOptions) bool
		wantErr string
	}{
		{args: "", want: func(o *RegisterOptions) bool {
			return o.Printer == "" && o.Concurrency == 8 && o.Wait == 10*time.Minute
		}},
		{args: "TS8320 --provider amazon --agree-terms --yes --no-browser --wait 30s --label office",
			want: func(o *RegisterOptions) bool {
				return o.Printer == "TS8320" && o.Provider == "amazon" && o.AgreeTerms && o.Yes && o.NoBrowser && o.Wait == 30*time.Second && o.Label == "office"
			}},
		{args: "--model TS9521C", want: func(o *RegisterOptions) bool { return o.Model == "TS9521C" }},
		{args: "--host 127.0.0.1:631 --host 10.0.0.2", want: func(o *RegisterOptions) bool { return len(o.Hosts) == 2 && o.Hosts[1] == "10.0.0.2" }},
		{args: "--from f.csv --concurrency 3 --agree-terms", want: func(o *RegisterOptions) bool { return o.From == "f.csv" && o.Concurrency == 3 }},
		{args: "--provider ink", wantErr: "--provider: unknown provider"},
		{args: "--from f.csv --all-eligible", wantErr: "cannot be used together"},
		{args: "X --from f.csv", wantErr: "PRINTER cannot be given"},
		{args: "--concurrency 0", wantErr: "--concurrency must be at least 1"},
		{args: "--email a@b.c", wantErr: "--email is only used with --create-account"},
		{args: "--password-stdin --create-account", wantErr: "--password-stdin needs --email"},
		{args: "a b", wantErr: "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}, Getenv: func(string) string { return "" },
				Config: func() (*config.Config, error) { return &config.Config{}, nil }}
			var got *RegisterOptions
			cmd := NewCmdRegister(f, func(o *RegisterOptions) error { got = o; return nil })
			argv := strings.Fields(tt.args)
			cmd.SetArgs(argv)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(got) {
				t.Fatalf("options = %+v", got)
			}
		})
	}
}

type fixture struct {
	api     *clitest.API
	token   string
	opts    *RegisterOptions
	pr      *clitest.Prompter
	out     *bytes.Buffer
	errOut  *bytes.Buffer
	in      *bytes.Buffer
	browsed []string
}

type browserFunc func(string) error

func (b browserFunc) Browse(u string) error { return b(u) }

func newFixture(t *testing.T, tty bool) *fixture {
	t.Helper()
	fx := &fixture{api: clitest.StartAPI(t), pr: &clitest.Prompter{T: t}}
	fx.token = fx.api.Account(t, "owner@example.com")
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(tty)
	ios.SetTerminalWidth(200) // messages on one line, as the assertions read them
	fx.out, fx.errOut, fx.in = out, errOut, in
	fx.opts = &RegisterOptions{
		IO:       ios,
		Prompter: fx.pr,
		Output:   &cmdutil.OutputOptions{},
		Browser: browserFunc(func(u string) error {
			fx.browsed = append(fx.browsed, u)
			return cmdutil.ErrNoBrowser
		}),
		Client: func(ctx context.Context) (*arsapi.Client, error) {
			if fx.token == "" {
				return nil, cmdutil.AuthErrorf("not signed in: run `arsctl auth login`")
			}
			return fx.api.Client(fx.token), nil
		},
		PublicClient: func() (*arsapi.Client, error) { return fx.api.Client(""), nil },
		ServerURL:    func() (string, error) { return fx.api.URL, nil },
		IPP:          &ipp.Client{},
		Timeout:      5 * time.Second,
		Wait:         time.Minute,
		Concurrency:  4,
	}
	return fx
}

func (fx *fixture) enrollments(t *testing.T) []arsapi.Enrollment {
	t.Helper()
	l, err := fx.api.Client(fx.token).ListEnrollments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRegisterInteractiveCanon(t *testing.T) {
	fx := newFixture(t, true)
	p1 := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(1), Name: "Office"})
	p2 := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(2), Name: "Kitchen"})
	fx.opts.Hosts = []string{p1.Addr(), p2.Addr()}
	fx.pr.Answers = []clitest.Answer{
		{Title: "Select your printer", Value: "label:Kitchen"},
		{Title: "agree", Yes: true},
		{Title: "Amazon or Canon", Value: "canon"},
		{Title: "Is this your printer", Yes: true},
	}
	clients := 0
	client := fx.opts.Client
	fx.opts.Client = func(ctx context.Context) (*arsapi.Client, error) {
		clients++
		return client(ctx)
	}
	if err := registerRun(context.Background(), fx.opts); err != nil {
		t.Fatalf("%v\n%s", err, fx.errOut)
	}
	fx.pr.Done()
	if clients != 1 {
		t.Errorf("the signed-in client was built %d times, want 1", clients)
	}
	es := fx.enrollments(t)
	if len(es) != 1 || es[0].Printer.Serial != clitest.Serial(2) || es[0].State != arsapi.StateActive {
		t.Fatalf("enrollments = %+v", es)
	}
	// On a terminal the result is the success line on stderr only.
	if fx.out.Len() != 0 || !strings.Contains(fx.errOut.String(), "enrollment "+es[0].ID+" is active") {
		t.Errorf("stdout %q, stderr %q", fx.out, fx.errOut)
	}
	stderr := fx.errOut.String()
	for _, want := range []string{"About this service: http", "Enrolled TS8320", "****0002"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr+fx.out.String(), clitest.Serial(2)) {
		t.Error("the full serial was printed")
	}
}

// Ctrl-C (or "No") at any prompt exits 5 and enrolls nothing.
func TestRegisterCancelAtEachPrompt(t *testing.T) {
	steps := []clitest.Answer{
		{Title: "Select your printer", Value: "label:0001"},
		{Title: "agree", Yes: true},
		{Title: "Amazon or Canon", Value: "canon"},
		{Title: "Is this your printer", Yes: true},
	}
	for i := range steps {
		for _, how := range []string{"ctrl-c", "no"} {
			if how == "no" && (i == 0 || i == 2) {
				continue // a select has no "No"
			}
			t.Run(steps[i].Title+"/"+how, func(t *testing.T) {
				fx := newFixture(t, true)
				p1 := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(1)})
				p2 := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(2)})
				fx.opts.Hosts = []string{p1.Addr(), p2.Addr()}
				fx.pr.Answers = append([]clitest.Answer(nil), steps[:i+1]...)
				last := &fx.pr.Answers[i]
				if how == "ctrl-c" {
					last.Err = prompt.ErrAborted
				} else {
					last.Yes = false
				}
				err := registerRun(context.Background(), fx.opts)
				if code := cmdutil.ExitCode(err); code != cmdutil.ExitCancelled {
					t.Fatalf("exit %d (%v), want 5", code, err)
				}
				fx.pr.Done()
				if es := fx.enrollments(t); len(es) != 0 {
					t.Fatalf("enrollments = %+v", es)
				}
			})
		}
	}
}

func TestRegisterNonInteractive(t *testing.T) {
	fx := newFixture(t, false)
	p := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(3)})
	fx.opts.Hosts = []string{p.Addr()}

	for _, tt := range []struct {
		set  func(o *RegisterOptions)
		want []string
	}{
		{func(o *RegisterOptions) {}, []string{"--agree-terms", "--provider (who ships the ink: canon or amazon)", "--yes (with --provider canon"}},
		{func(o *RegisterOptions) { o.AgreeTerms = true }, []string{"--provider", "--yes"}},
		{func(o *RegisterOptions) { o.Provider = "canon" }, []string{"--yes (to confirm"}},
	} {
		tt.set(fx.opts)
		err := registerRun(context.Background(), fx.opts)
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Fatalf("err = %v (exit %d), want exit 2", err, cmdutil.ExitCode(err))
		}
		for _, want := range tt.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, lacks %q", err, want)
			}
		}
	}
	if es := fx.enrollments(t); len(es) != 0 {
		t.Fatalf("enrollments = %+v", es)
	}

	fx.opts.Yes = true
	fx.opts.Output.JSON = true
	if err := registerRun(context.Background(), fx.opts); err != nil {
		t.Fatal(err)
	}
	var first provider.Enrollment
	if err := jsonUnmarshal(fx.out.Bytes(), &first); err != nil || first.State != arsapi.StateActive || first.Existing {
		t.Fatalf("json %s: %+v %v", fx.out, first, err)
	}

	// Again: already enrolled is not an error; it shows the enrollment.
	fx.out.Reset()
	fx.errOut.Reset()
	if err := registerRun(context.Background(), fx.opts); err != nil {
		t.Fatal(err)
	}
	var again provider.Enrollment
	if err := jsonUnmarshal(fx.out.Bytes(), &again); err != nil || again.ID != first.ID || !again.Existing {
		t.Fatalf("second run: %s", fx.out)
	}
	if !strings.Contains(fx.errOut.String(), "already enrolled") {
		t.Errorf("stderr: %s", fx.errOut)
	}
	if es := fx.enrollments(t); len(es) != 1 {
		t.Fatalf("enrollments = %+v", es)
	}
}

// TestRegisterAgainAfterConflict replays a user's sequence: B's register
// fails because A's account has the printer, A cancels, and B runs the
// same command again: the printer is enrolled in B's account (the first
// refusal is not replayed).
// TestRegisterRequests counts the requests register sends to the server
// for one printer: the account's enrollments of the printer, the eligible
// models, the terms and the enrollment, each once; on a terminal the
// picker's lookup reads the first two and they are not asked again.
func TestRegisterRequests(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(fmt.Sprintf("tty=%v", tty), func(t *testing.T) {
			fx := newFixture(t, tty)
			serial := clitest.Serial(40)
			if tty {
				serial = clitest.Serial(41)
				fx.pr.Answers = []clitest.Answer{{Title: "Is this your printer", Yes: true}}
			}
			fx.opts.Hosts = []string{clitest.Printer(t, printersim.Config{Serial: serial}).Addr()}
			fx.opts.AgreeTerms, fx.opts.Provider = true, "canon"
			fx.opts.Yes = !tty
			fx.api.Requests()
			if err := registerRun(context.Background(), fx.opts); err != nil {
				t.Fatalf("%v\n%s", err, fx.errOut)
			}
			fx.pr.Done()
			got := fx.api.Requests()
			t.Logf("register sent %d requests: %q", len(got), got)
			if len(got) > 4 {
				t.Errorf("register sent %d requests, want at most 4: %q", len(got), got)
			}
			// The levels register read are the enrollment's first report:
			// status shows them right after, not "none reported yet".
			es, err := fx.api.Client(fx.token).ListEnrollments(context.Background())
			if err != nil || len(es) != 1 || es[0].LevelsReadAt == nil || len(es[0].Supplies) == 0 {
				t.Fatalf("enrollment after register: %+v (%v)", es, err)
			}
			if got := cmdutil.Levels(es[0].Supplies); got != "PGBK 80% BK 70% C 60% M 50% Y 40% PB 30%" { // the simulator's
				t.Errorf("levels after register: %s", got)
			}
			count := func(prefix string) int {
				n := 0
				for _, r := range got {
					if strings.HasPrefix(r, prefix) {
						n++
					}
				}
				return n
			}
			for prefix, want := range map[string]int{"GET /v1/models": 1, "GET /v1/terms": 1, "GET /v1/enrollments": 1, "POST /v1/enrollments": 1} {
				if n := count(prefix); n != want {
					t.Errorf("%d × %s, want %d: %q", n, prefix, want, got)
				}
			}
			if es := fx.enrollments(t); len(es) != 1 || es[0].Printer.Serial != serial {
				t.Fatalf("enrollments = %+v", es)
			}
		})
	}
}

// TestFleetRequests: a fleet file reads the terms and the models once;
// each printer then costs one request, its enrollment.
func TestFleetRequests(t *testing.T) {
	fx := newFixture(t, false)
	const printers = 3
	csv := "host,provider\n"
	for i := range printers {
		csv += clitest.Printer(t, printersim.Config{Serial: clitest.Serial(50 + i)}).Addr() + ",canon\n"
	}
	path := filepath.Join(t.TempDir(), "fleet.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	fx.opts.From, fx.opts.AgreeTerms = path, true
	fx.api.Requests()
	if err := fleetRun(context.Background(), fx.opts); err != nil {
		t.Fatalf("%v\n%s", err, fx.errOut)
	}
	got := fx.api.Requests()
	perPrinter := float64(len(got)-2) / printers
	t.Logf("fleet register of %d printers sent %d requests (%.1f per printer after terms and models): %q", printers, len(got), perPrinter, got)
	if len(got) != 2+printers || perPrinter != 1 {
		t.Errorf("%d requests for %d printers, want %d (terms, models, one enrollment each): %q", len(got), printers, 2+printers, got)
	}
	if es := fx.enrollments(t); len(es) != printers {
		t.Fatalf("%d enrollments, want %d", len(es), printers)
	}
}

func TestRegisterAgainAfterConflict(t *testing.T) {
	fx := newFixture(t, false)
	p := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(8)})
	fx.opts.Hosts = []string{p.Addr()}
	fx.opts.AgreeTerms, fx.opts.Provider, fx.opts.Yes = true, "canon", true

	b, aTok := fx.token, fx.api.Account(t, "a@example.com")
	fx.token = aTok
	if err := registerRun(context.Background(), fx.opts); err != nil {
		t.Fatalf("A's register: %v", err)
	}
	a := fx.enrollments(t)[0]

	fx.token = b
	err := registerRun(context.Background(), fx.opts)
	if err == nil || !strings.Contains(err.Error(), "cannot be enrolled by this account") {
		t.Fatalf("B's register while A has it: %v", err)
	}
	if _, err := fx.api.Client(aTok).CancelEnrollment(context.Background(), a.ID,
		arsapi.CancelRequest{Reasons: []string{"other"}, Comment: "gave it to B"}, ""); err != nil {
		t.Fatal(err)
	}
	fx.errOut.Reset()
	if err := registerRun(context.Background(), fx.opts); err != nil {
		t.Fatalf("B's same register after A cancelled: %v\n%s", err, fx.errOut)
	}
	es := fx.enrollments(t)
	if len(es) != 1 || es[0].State != arsapi.StateActive || es[0].Printer.Serial != clitest.Serial(8) {
		t.Fatalf("B's enrollments = %+v", es)
	}
}

// TestRegisterNamesEveryMissingFlag replays `register --host X` with no
// terminal: one exit-2 error names --agree-terms, --provider and --yes
// together, before the printer is asked (the address here answers
// nothing, so asking it first would fail with "no printer answered").
func TestRegisterNamesEveryMissingFlag(t *testing.T) {
	fx := newFixture(t, false)
	fx.opts.Hosts = []string{"127.0.0.1:1"}
	err := registerRun(context.Background(), fx.opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("err = %v (exit %d), want exit 2", err, cmdutil.ExitCode(err))
	}
	for _, want := range []string{"--agree-terms", "--provider", "--yes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, lacks %q", err, want)
		}
	}
	// Amazon needs no --yes; --create-account --email needs the password.
	fx.opts.Provider, fx.opts.CreateAccount, fx.opts.Email = "amazon", true, "new@example.com"
	err = registerRun(context.Background(), fx.opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || strings.Contains(err.Error(), "--yes") ||
		!strings.Contains(err.Error(), "--password-stdin") || !strings.Contains(err.Error(), "--agree-terms") {
		t.Fatalf("amazon: err = %v", err)
	}
}

func TestRegisterNotSignedIn(t *testing.T) {
	fx := newFixture(t, false)
	fx.token = ""
	p := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(4)})
	fx.opts.Hosts = []string{p.Addr()}
	fx.opts.AgreeTerms, fx.opts.Provider, fx.opts.Yes = true, "canon", true
	err := registerRun(context.Background(), fx.opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitAuth || !strings.Contains(err.Error(), "auth login") {
		t.Fatalf("err = %v", err)
	}
}

func TestRegisterIneligible(t *testing.T) {
	fx := newFixture(t, false)
	p := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(5), Model: "MG2500 series"})
	fx.opts.Hosts = []string{p.Addr()}
	fx.opts.AgreeTerms, fx.opts.Provider, fx.opts.Yes = true, "canon", true
	err := registerRun(context.Background(), fx.opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitFailure || !strings.Contains(err.Error(), "not eligible") || !strings.Contains(err.Error(), "TS8320") {
		t.Fatalf("err = %v", err)
	}
}

// A printer reports its series, never the regional model number: a series
// that covers one eligible model shows that model with the serial and asks
// to confirm; one that covers several asks which model it is (or takes
// --model); with no terminal an undecided series is exit 2 naming --model.
// The printers' identities are set here, whatever the simulator's
// defaults are.
func TestRegisterSeries(t *testing.T) {
	canonSim := func(t *testing.T, series string, n int) *printersim.Printer {
		return clitest.Printer(t, printersim.Config{Make: "Canon", Model: series, Name: "Canon " + series, Serial: clitest.Serial(n)})
	}
	enrolled := func(t *testing.T, fx *fixture) arsapi.Printer {
		t.Helper()
		es := fx.enrollments(t)
		if len(es) != 1 {
			t.Fatalf("enrollments = %+v\n%s", es, fx.errOut)
		}
		return es[0].Printer
	}

	t.Run("one model: shown and confirmed", func(t *testing.T) {
		fx := newFixture(t, true)
		fx.opts.Hosts = []string{canonSim(t, "TS5300 series", 11).Addr()}
		fx.pr.Answers = []clitest.Answer{
			{Title: "agree", Yes: true},
			{Title: "Amazon or Canon", Value: "canon"},
			{Title: "Is this your printer", Yes: true},
		}
		if err := registerRun(context.Background(), fx.opts); err != nil {
			t.Fatalf("%v\n%s", err, fx.errOut)
		}
		fx.pr.Done()
		desc := fx.pr.Descriptions[len(fx.pr.Descriptions)-1]
		if !strings.Contains(desc, "Model: TS5320 (reports itself as TS5300 series)") || !strings.Contains(desc, "Serial: ****0011") {
			t.Errorf("confirmation shows %q", desc)
		}
		if p := enrolled(t, fx); p.Model != "TS5320" || p.Series != "TS5300 series" {
			t.Errorf("enrolled %+v", p)
		}
	})

	t.Run("several models: chosen at a prompt", func(t *testing.T) {
		fx := newFixture(t, true)
		fx.opts.Hosts = []string{canonSim(t, "TS9500 series", 12).Addr()}
		fx.pr.Answers = []clitest.Answer{
			{Title: "Which model is your printer", Value: "TS9521C"},
			{Title: "agree", Yes: true},
			{Title: "Amazon or Canon", Value: "canon"},
			{Title: "Is this your printer", Yes: true},
		}
		if err := registerRun(context.Background(), fx.opts); err != nil {
			t.Fatalf("%v\n%s", err, fx.errOut)
		}
		fx.pr.Done()
		if !strings.Contains(fx.pr.Descriptions[0], "TS9500 series") {
			t.Errorf("model prompt says %q", fx.pr.Descriptions[0])
		}
		if p := enrolled(t, fx); p.Model != "TS9521C" || p.Series != "TS9500 series" {
			t.Errorf("enrolled %+v", p)
		}
	})

	t.Run("several models: --model in a script", func(t *testing.T) {
		fx := newFixture(t, false)
		fx.opts.Hosts = []string{canonSim(t, "TS9500 series", 13).Addr()}
		fx.opts.AgreeTerms, fx.opts.Provider, fx.opts.Yes = true, "canon", true
		err := registerRun(context.Background(), fx.opts)
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--model") ||
			!strings.Contains(err.Error(), "TS9520") || !strings.Contains(err.Error(), "TS9521C") {
			t.Fatalf("no TTY, no --model: err = %v (exit %d), want exit 2 naming --model", err, cmdutil.ExitCode(err))
		}
		if es := fx.enrollments(t); len(es) != 0 {
			t.Fatalf("enrolled without a model: %+v", es)
		}
		fx.opts.Model = "TS8320"
		if err := registerRun(context.Background(), fx.opts); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "not TS8320") {
			t.Fatalf("--model outside the series: %v", err)
		}
		fx.opts.Model = "ts9520a"
		if err := registerRun(context.Background(), fx.opts); err != nil {
			t.Fatalf("%v\n%s", err, fx.errOut)
		}
		if p := enrolled(t, fx); p.Model != "TS9520" || p.Series != "TS9500 series" {
			t.Errorf("enrolled %+v", p)
		}
	})

	t.Run("another make", func(t *testing.T) {
		fx := newFixture(t, false)
		p := clitest.Printer(t, printersim.Config{Make: "EPSON", Model: "ET-2850 Series", Name: "EPSON ET-2850 Series", Serial: clitest.Serial(14)})
		fx.opts.Hosts = []string{p.Addr()}
		fx.opts.AgreeTerms, fx.opts.Provider, fx.opts.Yes = true, "canon", true
		err := registerRun(context.Background(), fx.opts)
		if err == nil || !strings.Contains(err.Error(), "does not serve EPSON printers") || strings.Contains(err.Error(), "TS8320") {
			t.Fatalf("err = %v", err)
		}
	})
}

// The picker shows what the server says of each printer before the
// terms: eligible (as which model), not eligible (why), enrolled (yours).
// A printer that is not eligible, once chosen, ends with why before the
// terms.
func TestRegisterPickerMarks(t *testing.T) {
	fx := newFixture(t, true)
	sim := func(mk, model string, n int) string {
		return clitest.Printer(t, printersim.Config{Make: mk, Model: model, Name: mk + " " + model, Serial: clitest.Serial(n)}).Addr()
	}
	fx.opts.Hosts = []string{sim("Canon", "TS5300 series", 41), sim("EPSON", "ET-2850 Series", 42), sim("Canon", "TS8300 series", 43)}
	if _, err := fx.api.Client(fx.token).CreateEnrollment(context.Background(), arsapi.CreateEnrollmentRequest{
		Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: "TS8320", Serial: clitest.Serial(43)}, TermsVersion: "2026-01"}, ""); err != nil {
		t.Fatal(err)
	}
	fx.pr.Answers = []clitest.Answer{{Title: "Select your printer", Value: "label:EPSON"}}
	err := registerRun(context.Background(), fx.opts)
	if err == nil || !strings.Contains(err.Error(), "does not serve EPSON printers") {
		t.Fatalf("EPSON chosen: %v", err)
	}
	fx.pr.Done()
	picker := strings.Join(fx.pr.Offered[0], "\n")
	for _, want := range []string{
		"TS5300 series", "— eligible (TS5320)",
		"EPSON ET-2850 Series", "— not eligible: this service does not serve EPSON printers",
		"****0043 — enrolled (yours, canon)",
	} {
		if !strings.Contains(picker, want) {
			t.Errorf("picker lacks %q:\n%s", want, picker)
		}
	}
	for _, q := range fx.pr.Asked {
		if strings.Contains(q, "agree") {
			t.Errorf("the terms were shown for the EPSON: %q", fx.pr.Asked)
		}
	}

	fx.pr.Answers = []clitest.Answer{
		{Title: "Select your printer", Value: "label:TS5300"},
		{Title: "agree", Yes: true},
		{Title: "Amazon or Canon", Value: "canon"},
		{Title: "Is this your printer", Yes: true},
	}
	if err := registerRun(context.Background(), fx.opts); err != nil {
		t.Fatalf("%v\n%s", err, fx.errOut)
	}
	fx.pr.Done()
	if es := fx.enrollments(t); len(es) != 2 {
		t.Fatalf("enrollments = %+v", es)
	}
}

func TestRegisterNoPrinter(t *testing.T) {
	fx := newFixture(t, false)
	fx.opts.Hosts = []string{"127.0.0.1:1"}
	fx.opts.Timeout = 2 * time.Second
	fx.opts.AgreeTerms, fx.opts.Provider, fx.opts.Yes = true, "canon", true
	err := registerRun(context.Background(), fx.opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitNotFound || !strings.Contains(err.Error(), "no printer answered at 127.0.0.1:1") {
		t.Fatalf("err = %v", err)
	}
}

func TestRegisterAmazon(t *testing.T) {
	fx := newFixture(t, false)
	p := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(6)})
	fx.opts.Hosts = []string{p.Addr()}
	fx.opts.AgreeTerms, fx.opts.Provider = true, "amazon"
	// The browser signs in with Amazon: the server's callback activates
	// the enrollment.
	fx.opts.Browser = browserFunc(func(u string) error {
		fx.browsed = append(fx.browsed, u)
		id := u[strings.LastIndex(u, "=")+1:]
		return fx.api.Store.ActivateEnrollment(context.Background(), id)
	})
	if err := registerRun(context.Background(), fx.opts); err != nil {
		t.Fatalf("%v\n%s", err, fx.errOut)
	}
	es := fx.enrollments(t)
	if len(fx.browsed) != 1 || len(es) != 1 || es[0].State != arsapi.StateActive || es[0].Provider != arsapi.ProviderAmazon {
		t.Fatalf("browsed %q, enrollments %+v", fx.browsed, es)
	}
}

func TestRegisterAmazonNoBrowserTimeout(t *testing.T) {
	fx := newFixture(t, false)
	p := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(7)})
	fx.opts.Hosts = []string{p.Addr()}
	fx.opts.AgreeTerms, fx.opts.Provider, fx.opts.NoBrowser = true, "amazon", true
	fx.opts.Wait = 100 * time.Millisecond
	err := registerRun(context.Background(), fx.opts)
	if err == nil || cmdutil.ExitCode(err) != cmdutil.ExitFailure || !strings.Contains(err.Error(), "stays pending") {
		t.Fatalf("err = %v", err)
	}
	if len(fx.browsed) != 0 {
		t.Errorf("--no-browser opened %q", fx.browsed)
	}
	if !strings.Contains(fx.errOut.String(), "/v1/amazon/start?enrollment=") {
		t.Errorf("URL not printed:\n%s", fx.errOut)
	}
}

func TestFleetCSV(t *testing.T) {
	fx := newFixture(t, false)
	var hosts []string
	for i := range 3 {
		hosts = append(hosts, clitest.Printer(t, printersim.Config{Serial: clitest.Serial(10 + i)}).Addr())
	}
	bad := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(20), Model: "MG2500 series"}).Addr()
	csv := "host,provider,label\n" +
		hosts[0] + ",canon,first floor\n" +
		hosts[1] + ",,\n" +
		",canon,nothing\n" +
		hosts[2] + ",ink,\n" +
		bad + ",canon,old\n" +
		"127.0.0.1:1,canon,\n" +
		hosts[0] + ",canon,dup\n"
	path := filepath.Join(t.TempDir(), "fleet.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	fx.opts.From, fx.opts.Provider, fx.opts.Timeout = path, "", 2*time.Second
	err := fleetRun(context.Background(), fx.opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("without --agree-terms: %v", err)
	}
	fx.opts.AgreeTerms = true
	err = fleetRun(context.Background(), fx.opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Fatalf("err = %v, want exit 1", err)
	}
	lines := strings.Split(strings.TrimSpace(fx.out.String()), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d lines:\n%s", len(lines), fx.out)
	}
	for i, want := range []string{"enrolled\t" + hosts[0] + "\tTS8320\t", "failed\t" + hosts[1] + "\t", "failed\tline 4\t", "failed\t" + hosts[2] + "\t",
		"failed\t" + bad + "\t", "failed\t127.0.0.1:1\t", "failed\t" + hosts[0] + "\t"} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], want)
		}
	}
	for _, want := range []string{"no provider", "no host and no serial", "unknown provider", "not eligible", "no printer answered", "same printer as line 2"} {
		if !strings.Contains(fx.out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}

	// With --provider the second row works; the first is already enrolled.
	fx.out.Reset()
	fx.opts.Provider = "canon"
	fx.opts.Output.JSON = true
	_ = fleetRun(context.Background(), fx.opts)
	var res []FleetResult
	if err := jsonUnmarshal(fx.out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 7 || res[0].Status != "already-enrolled" || res[1].Status != "enrolled" || res[0].Label != "first floor" {
		t.Fatalf("results = %+v", res)
	}
	if es := fx.enrollments(t); len(es) != 2 {
		t.Fatalf("%d enrollments", len(es))
	}
}

// A fleet file answers "which model?" for printers whose series covers
// several in a model column; without it such a row fails naming the
// column, and the other rows are enrolled.
func TestFleetCSVModelColumn(t *testing.T) {
	fx := newFixture(t, false)
	sim := func(series string, n int) string {
		return clitest.Printer(t, printersim.Config{Make: "Canon", Model: series, Name: "Canon " + series, Serial: clitest.Serial(n)}).Addr()
	}
	ts9500a, ts9500b, ts5300 := sim("TS9500 series", 31), sim("TS9500 series", 32), sim("TS5300 series", 33)
	csv := "host,provider,model\n" +
		ts9500a + ",canon,TS9521C\n" +
		ts9500b + ",canon,\n" +
		ts5300 + ",canon,\n"
	path := filepath.Join(t.TempDir(), "fleet.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	fx.opts.From, fx.opts.AgreeTerms, fx.opts.Output.JSON = path, true, true
	err := fleetRun(context.Background(), fx.opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Fatalf("err = %v, want exit 1 for the row without a model", err)
	}
	var res []FleetResult
	if err := jsonUnmarshal(fx.out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Status != "enrolled" || res[1].Status != "failed" || res[2].Status != "enrolled" ||
		!strings.Contains(res[1].Error, "model column") || !strings.Contains(res[1].Error, "TS9520") {
		t.Fatalf("results = %+v", res)
	}
	got := map[string]string{}
	for _, e := range fx.enrollments(t) {
		got[e.Printer.Serial] = e.Printer.Model + "/" + e.Printer.Series
	}
	if got[clitest.Serial(31)] != "TS9521C/TS9500 series" || got[clitest.Serial(33)] != "TS5320/TS5300 series" || len(got) != 2 {
		t.Errorf("enrolled %v", got)
	}
}

func TestFleetCSVNotSignedIn(t *testing.T) {
	fx := newFixture(t, false)
	fx.token = ""
	path := filepath.Join(t.TempDir(), "fleet.csv")
	_ = os.WriteFile(path, []byte("host\n127.0.0.1:1\n"), 0o600)
	fx.opts.From, fx.opts.AgreeTerms = path, true
	if err := fleetRun(context.Background(), fx.opts); cmdutil.ExitCode(err) != cmdutil.ExitAuth {
		t.Fatalf("err = %v", err)
	}
}

func TestParseFleetCSV(t *testing.T) {
	rows, err := ParseFleetCSV(strings.NewReader("\ufeffAddress, Provider ,Label,extra\n# comment\n\n10.0.0.1,CANON,a\n\"10.0.0.2\",amazon\n10.0.0.3,canon,\"x\"y\n10.0.0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("rows = %+v", rows)
	}
	if r := rows[0]; r.Line != 4 || r.Host != "10.0.0.1" || r.Provider != "canon" || r.Label != "a" || r.Err != nil {
		t.Errorf("row 0 = %+v", r)
	}
	if r := rows[1]; r.Host != "10.0.0.2" || r.Provider != "amazon" || r.Label != "" || r.Err != nil {
		t.Errorf("row 1 = %+v", r)
	}
	if rows[2].Err == nil || rows[3].Err == nil {
		t.Errorf("bad rows accepted: %+v", rows[2:])
	}

	// A serial that is not one is refused on its row.
	rows, err = ParseFleetCSV(strings.NewReader("serial,provider\nnot a serial!!,canon\nKNMA00001,canon\n"))
	if err != nil || len(rows) != 2 || rows[0].Err == nil || !strings.Contains(rows[0].Err.Error(), `"not a serial!!" is not a serial number`) || rows[1].Err != nil {
		t.Errorf("serials: %+v, %v", rows, err)
	}

	for _, in := range []string{"", "# only a comment\n", "provider,label\ncanon,x\n", "\"host\n"} {
		if _, err := ParseFleetCSV(strings.NewReader(in)); err == nil {
			t.Errorf("ParseFleetCSV(%q) succeeded", in)
		}
	}
}

func FuzzParseFleetCSV(f *testing.F) {
	for _, s := range []string{
		"host,provider,label\n127.0.0.1:631,canon,a\n",
		"serial,provider\nKNMA0001,amazon\n,\n",
		"host\n\"unterminated\n",
		"\ufeffhost;provider\n1;2\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rows, err := ParseFleetCSV(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Err == nil && r.Host == "" && r.Serial == "" {
				t.Fatalf("row without host or serial accepted: %+v", r)
			}
			if r.Err == nil && r.Serial != "" && printer.CheckSerial(r.Serial) != nil {
				t.Fatalf("bad serial accepted: %+v", r)
			}
			if r.Err == nil && r.Provider != "" && r.Provider != "canon" && r.Provider != "amazon" {
				t.Fatalf("bad provider accepted: %+v", r)
			}
		}
	})
}

var errEmpty = errors.New("empty output")

func jsonUnmarshal(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errEmpty
	}
	return json.Unmarshal(b, v)
}
