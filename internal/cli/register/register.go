// Package register implements `arsctl register`: the registration steps
// (find the printer, select it, agree to the terms, choose Canon or
// Amazon, confirm or sign in) for one printer, and fleet enrollment from a
// CSV file or every eligible printer found.
package register

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cli/complete"
	"github.com/arsctl/arsctl/internal/cli/eligibility"
	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/prompt"
	"github.com/arsctl/arsctl/internal/signin"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

// RegisterOptions are register's inputs.
type RegisterOptions struct {
	IO       *iostreams.IOStreams
	Prompter prompt.Prompter
	Browser  cmdutil.Browser
	Output   *cmdutil.OutputOptions

	// Client returns the signed-in API client (exit-4 error when not
	// signed in); PublicClient one without credentials.
	Client       func(ctx context.Context) (*arsapi.Client, error)
	PublicClient func() (*arsapi.Client, error)
	// SignIn runs the interactive sign-in and stores the token; nil when
	// signing in here is not possible.
	SignIn func(ctx context.Context) error
	// CreateAccount signs up with email and password (POST /v1/accounts).
	CreateAccountF func(ctx context.Context, email, password string) (arsapi.Account, error)
	// ServerURL is the ARS server address (for the sign-up page).
	ServerURL func() (string, error)
	// DefaultProvider is the configured default provider ("" for none).
	DefaultProvider func() string
	// IPP queries printers.
	IPP discovery.IPPClient

	Printer       string
	Hosts         []string
	Timeout       time.Duration
	Provider      string
	AgreeTerms    bool
	Yes           bool
	NoBrowser     bool
	Wait          time.Duration
	Label         string
	Model         string
	CreateAccount bool
	Email         string
	PasswordStdin bool

	From        string
	AllEligible bool
	Concurrency int

	// Search holds --subnet, --domain and the SNMP credentials;
	// Discovery is what they ask for, set before runF.
	Search    *cmdutil.SearchFlags
	Discovery discovery.Options
}

// NewCmdRegister returns the register command. runF, when not nil, is
// called with the parsed options instead of registerRun (tests).
func NewCmdRegister(f *cmdutil.Factory, runF func(*RegisterOptions) error) *cobra.Command {
	opts := &RegisterOptions{
		IO:       f.IOStreams,
		Prompter: f.Prompter,
		Browser:  f.Browser,
		Output:   f.Output,
		Client: func(ctx context.Context) (*arsapi.Client, error) {
			return resolve.Client(ctx, f)
		},
		PublicClient: func() (*arsapi.Client, error) { return resolve.PublicClient(f) },
		ServerURL:    f.ServerURL,
		DefaultProvider: func() string {
			if cfg, err := f.Config(); err == nil && cfg != nil {
				return cfg.Provider
			}
			return ""
		},
	}
	opts.SignIn = func(ctx context.Context) error {
		server, err := f.ServerURL()
		if err != nil {
			return err
		}
		if f.Getenv(auth.TokenEnv) != "" {
			return cmdutil.EnvTokenRefused(server)
		}
		tok, err := signin.FromFactory(f).Login(ctx, server, signin.Mode{NoBrowser: opts.NoBrowser})
		if err != nil {
			return err
		}
		if err := f.TokenStore().Save(server, tok); err != nil {
			return fmt.Errorf("save token: %w", err)
		}
		f.IOStreams.Success("Signed in to %s", server)
		return nil
	}
	opts.CreateAccountF = func(ctx context.Context, email, password string) (arsapi.Account, error) {
		c, err := f.PublicAPIClient()
		if err != nil {
			return arsapi.Account{}, err
		}
		return c.CreateAccount(ctx, arsapi.CreateAccountRequest{Email: email, Password: password})
	}

	cmd := &cobra.Command{
		Use:   "register [PRINTER]",
		Short: "Enroll a printer in automatic ink replenishment",
		Long: `Enroll a printer in the Auto Replenishment Service, step by step:

  1. find printers on the network (mDNS), or ask the one at --host directly;
  2. select the printer (PRINTER may be its name, address, serial or UUID);
  3. read the terms and agree (--agree-terms agrees without a prompt, and
     still prints the terms' title, version and About this service URL);
  4. choose who ships the ink: canon or amazon (--provider; default from
     config);
  5. canon: confirm the model and serial (--yes), sign in or create an account;
     amazon: sign in with Amazon in your browser (the URL is printed when no
     browser can open, e.g. over SSH, or with --no-browser); Cancel there
     ends the wait (exit 5) and leaves the plan pending: run the same
     command again for a new link.

Printers report their series ("Canon TS5300 series"), not the model number
on the box: the series that covers one eligible model stands for it (the
TS5320), and when a series covers several (the TS9500 series is a TS9520
or a TS9521C) you choose, or give --model. arsctl models lists them.

Prompts appear only on a terminal when a value is missing; in scripts every
answer must be given as a flag: the flags missing are all named in one error
(exit 2), before any printer is asked. Registering a printer that is already
enrolled is not an error: the existing enrollment is shown; asking for
another provider than its own is (exit 1): cancel that plan first, then
register again.

Fleet enrollment: --from FILE.csv (a header row, then one printer per row;
columns host or serial, provider, optional label and model) or
--all-eligible (every eligible printer found on the network) enroll many
printers at once,
--concurrency at a time, printing one result line per printer (--json: an
array). A failed printer does not stop the others; the exit status is 1 if
any failed. Running it again skips printers already enrolled.`,
		Example: `  # interactive: prompts for everything not given
  arsctl register

  # one printer, no prompts (e.g. from a script)
  arsctl register --host 192.168.1.40 --provider canon --agree-terms --yes
  arsctl register "Office printer" --provider amazon --agree-terms --no-browser

  # a printer whose series covers several models (TS9500 series)
  arsctl register --host 192.168.1.41 --model TS9521C --provider canon --agree-terms --yes

  # a fleet from a CSV file (host,provider,label,model)
  arsctl register --from printers.csv --agree-terms --json
  arsctl register --all-eligible --provider canon --agree-terms

  # printers on another subnet (mDNS does not cross routers), or in DNS
  arsctl register --all-eligible --subnet 10.20.30.0/24 --provider canon --agree-terms
  arsctl register --from printers.csv --domain corp.example.com --agree-terms`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Printer = args[0]
			}
			opts.IPP = f.IPPClient()
			if opts.Provider != "" {
				if _, err := provider.Get(opts.Provider, nil); err != nil {
					return cmdutil.FlagErrorf("--provider: %v", err)
				}
			}
			if opts.From != "" && opts.AllEligible {
				return cmdutil.FlagErrorf("--from and --all-eligible cannot be used together")
			}
			if (opts.From != "" || opts.AllEligible) && opts.Printer != "" {
				return cmdutil.FlagErrorf("PRINTER cannot be given with --from or --all-eligible")
			}
			if opts.Concurrency < 1 {
				return cmdutil.FlagErrorf("--concurrency must be at least 1")
			}
			if len(opts.Hosts) > 0 && opts.Search.Any() {
				return cmdutil.FlagErrorf("--host cannot be combined with --subnet or --domain")
			}
			d, err := opts.Search.DiscoveryOptions(f)
			if err != nil {
				return err
			}
			opts.Discovery = d
			if opts.PasswordStdin && opts.Email == "" {
				return cmdutil.FlagErrorf("--password-stdin needs --email")
			}
			if opts.Email != "" && !opts.CreateAccount {
				return cmdutil.FlagErrorf("--email is only used with --create-account")
			}
			if f.Output.Machine() {
				opts.IO.SetNeverPrompt(true)
			}
			if runF != nil {
				return runF(opts)
			}
			if opts.From != "" || opts.AllEligible {
				return fleetRun(cmd.Context(), opts)
			}
			return registerRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Hosts, "host", nil, "Ask the printer at `ADDR[:PORT]` directly instead of searching the network (repeatable)")
	fl.DurationVar(&opts.Timeout, "timeout", 5*time.Second, "How long to search for printers")
	fl.StringVar(&opts.Provider, "provider", "", "Who ships the ink (`name`): canon or amazon (default: the config's provider)")
	fl.BoolVar(&opts.AgreeTerms, "agree-terms", false, "Agree to the service terms without a prompt (their title, version and About URL are still printed)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "Confirm the printer model and serial without asking")
	fl.BoolVar(&opts.NoBrowser, "no-browser", false, "Print sign-in URLs instead of opening a browser")
	fl.DurationVar(&opts.Wait, "wait", 10*time.Minute, "How long to wait for the Amazon sign-in to complete")
	fl.StringVar(&opts.Model, "model", "", "The eligible `model` the printer is, when the series it reports covers several (e.g. TS9521C for a \"TS9500 series\"); arsctl models lists them")
	fl.StringVar(&opts.Label, "label", "", "A `name` for the printer in your account, e.g. \"2nd floor\"")
	fl.BoolVar(&opts.CreateAccount, "create-account", false, "Create an account on the server first (opens its sign-up page, or uses --email)")
	fl.StringVar(&opts.Email, "email", "", "With --create-account: the new account's `address`")
	fl.BoolVar(&opts.PasswordStdin, "password-stdin", false, "With --create-account --email: read the password from standard input")
	fl.StringVar(&opts.From, "from", "", "Enroll every printer listed in a CSV `file` (columns host or serial, provider, label, model, subnet)")
	fl.BoolVar(&opts.AllEligible, "all-eligible", false, "Enroll every eligible printer found on the network")
	fl.IntVar(&opts.Concurrency, "concurrency", 8, "With --from or --all-eligible: printers enrolled at the same time")
	_ = cmd.RegisterFlagCompletionFunc("provider", complete.Providers())
	_ = cmd.RegisterFlagCompletionFunc("model", complete.Models(f))
	_ = cmd.RegisterFlagCompletionFunc("from", cobra.FixedCompletions([]cobra.Completion{"csv"}, cobra.ShellCompDirectiveFilterFileExt))
	opts.Search = cmdutil.AddSearchFlags(fl)
	return cmd
}

func registerRun(ctx context.Context, opts *RegisterOptions) error {
	ios := opts.IO
	pub, err := opts.PublicClient()
	if err != nil {
		return err
	}

	if !ios.CanPrompt() {
		if err := missingAnswers(opts); err != nil {
			return err
		}
	}

	if opts.CreateAccount {
		if err := createAccount(ctx, opts); err != nil {
			return err
		}
	}

	// The signed-in client is built once: for the picker's marks, the
	// already-enrolled check and the enrollment.
	client := sync.OnceValues(func() (*arsapi.Client, error) { return opts.Client(ctx) })

	// Steps 3 and 4: find and select the printer. A PRINTER that is an
	// address is asked directly, without searching the network. On a
	// terminal the server is asked meanwhile which printers are eligible
	// or enrolled, so that the picker can say so.
	var lookup *eligibility.Lookup
	if ios.CanPrompt() {
		lookup = eligibility.Start(ctx, eligibility.Clients{
			PublicClient: func() (eligibility.Catalogue, error) { return pub, nil },
			Client: func(context.Context) (eligibility.Account, error) {
				c, err := client()
				if err != nil {
					return nil, err
				}
				return c, nil
			}}, max(opts.Timeout, 5*time.Second))
	}
	hosts := opts.Hosts
	if len(hosts) == 0 && opts.Printer != "" && resolve.LooksLikeAddress(opts.Printer) {
		hosts = []string{opts.Printer}
	}
	found, err := resolve.FindPrinters(ctx, ios, resolve.FindOptions{Hosts: hosts, Timeout: opts.Timeout, IPP: opts.IPP, Discovery: opts.Discovery})
	if err != nil {
		return err
	}
	arg := opts.Printer
	if len(opts.Hosts) == 0 && len(hosts) == 1 {
		arg = "" // the printer that answered at that address
	}
	p, err := resolve.SelectPrinter(ios, opts.Prompter, found, arg, pickerMarks(ctx, lookup))
	if err != nil {
		return err
	}
	ios.Info("Printer: %s", resolve.Label(p))
	if err := checkPrinter(p); err != nil {
		return err
	}

	// Already enrolled in this account? Then there is nothing to do. The
	// client (or why there is none) is kept for the sign-in below. What the
	// picker's lookup read is not asked again.
	c, cerr := client()
	if cerr == nil {
		if es, err := enrollments(ctx, lookup, c, p.Serial); err == nil {
			for _, e := range es {
				if provider.Live(e) && strings.EqualFold(e.Printer.Serial, p.Serial) {
					if err := provider.SameProvider(e, arsapi.Provider(askedProvider(opts))); err != nil {
						return err
					}
					prov, err := provider.Get(string(e.Provider), c)
					if err != nil {
						return err
					}
					return finish(ctx, opts, prov, provider.Resume(prov, e, true), c)
				}
			}
		}
	}

	models, err := eligibleModels(ctx, lookup, pub)
	if err != nil {
		return err
	}
	el := provider.Check(models, p.Make, p.Model)
	if !el.OK {
		return enrollErr(ineligible(p, el))
	}
	model, err := chooseModel(opts, p, el)
	if err != nil {
		return err
	}

	// Step 5: the terms.
	terms, err := pub.Terms(ctx)
	if err != nil {
		return err
	}
	if opts.AgreeTerms {
		agreedNote(ios, terms)
	} else {
		fmt.Fprintf(ios.ErrOut, "\n%s (version %s)\n\n%s\n\nAbout this service: %s\n\n",
			iostreams.Safe(terms.Title), iostreams.Safe(terms.Version), iostreams.SafeLines(wrap(terms.Text, 78)), iostreams.Safe(terms.AboutURL))
		// The About this service line just above is the prompt's context; the
		// prompt does not repeat it.
		ok, err := opts.Prompter.Confirm("Do you agree to these terms?", "", "Agree", "Decline", false)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(ios.ErrOut, "You did not agree to the terms; nothing was enrolled.")
			return cmdutil.SilentExit(cmdutil.ExitCancelled)
		}
	}

	// Step 6: the provider.
	name := opts.Provider
	if name == "" && opts.DefaultProvider != nil {
		name = opts.DefaultProvider()
	}
	if name == "" {
		var options []prompt.Option
		for _, pv := range provider.All(nil) {
			options = append(options, prompt.Option{Label: pv.Title() + ": " + pv.Description(), Value: string(pv.Name())})
		}
		name, err = opts.Prompter.Select("Sign up through Amazon or Canon?", "who ships the ink and charges for it", options)
		if err != nil {
			return err
		}
	}
	if _, err := provider.Get(name, nil); err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}

	if name == string(arsapi.ProviderCanon) && !opts.Yes {
		desc := fmt.Sprintf("Model: %s%s\nSerial: %s (check the last digits against the label on the printer)", model, reportsAs(p, model), resolve.Serial(p.Serial))
		ok, err := opts.Prompter.Confirm("Is this your printer?", desc, "Continue", "Cancel", true)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(ios.ErrOut, "Nothing was enrolled.")
			return cmdutil.SilentExit(cmdutil.ExitCancelled)
		}
	}

	// Sign in (or use the account already signed in).
	c, err = signedIn(ctx, opts, c, cerr)
	if err != nil {
		return err
	}
	prov, err := provider.Get(name, c)
	if err != nil {
		return err
	}
	ios.StartProgress("Registering…")
	enr, err := prov.Enroll(ctx, p, provider.EnrollOptions{TermsVersion: terms.Version, Label: opts.Label, Model: model})
	ios.StopProgress()
	if isAuthErr(err) && ios.CanPrompt() && opts.SignIn != nil {
		if err := opts.SignIn(ctx); err != nil {
			return err
		}
		if c, err = opts.Client(ctx); err != nil {
			return err
		}
		prov, _ = provider.Get(name, c)
		enr, err = prov.Enroll(ctx, p, provider.EnrollOptions{TermsVersion: terms.Version, Label: opts.Label, Model: model})
	}
	if err != nil {
		return enrollErr(err)
	}
	return finish(ctx, opts, prov, enr, c)
}

// enrollments returns the account's enrollments of the printer with
// serial: those the lookup read, when it read the account's, or else the
// server's answer.
func enrollments(ctx context.Context, lookup *eligibility.Lookup, c *arsapi.Client, serial string) ([]arsapi.Enrollment, error) {
	if lookup != nil {
		lookup.Wait(ctx)
		if es, ok := lookup.Enrollments(); ok {
			return es, nil
		}
	}
	return c.FindEnrollments(ctx, arsapi.ListOptions{Serial: serial})
}

// eligibleModels returns the eligible models: those the lookup read, or
// else the server's answer.
func eligibleModels(ctx context.Context, lookup *eligibility.Lookup, pub *arsapi.Client) ([]arsapi.Model, error) {
	if lookup != nil {
		lookup.Wait(ctx)
		if m, err := lookup.Models(); err == nil {
			return m, nil
		}
	}
	return pub.Models(ctx)
}

// missingAnswers names, in one usage error, every answer that a prompt
// would ask for and no flag gives, so that a script learns them all at
// once and before any printer is asked.
func missingAnswers(opts *RegisterOptions) error {
	var missing []string
	if opts.CreateAccount && opts.Email != "" && !opts.PasswordStdin {
		missing = append(missing, "--password-stdin (the new account's password)")
	}
	if !opts.AgreeTerms {
		missing = append(missing, "--agree-terms (to agree to the service terms)")
	}
	name := askedProvider(opts)
	if name == "" {
		missing = append(missing, "--provider (who ships the ink: "+providerChoices()+")")
	}
	if (name == "" || name == string(arsapi.ProviderCanon)) && !opts.Yes {
		what := "--yes (to confirm the printer's model and serial)"
		if name == "" {
			what = "--yes (with --provider canon: to confirm the printer's model and serial)"
		}
		missing = append(missing, what)
	}
	if len(missing) == 0 {
		return nil
	}
	return cmdutil.FlagErrorf("not running interactively, so these answers must be given as flags:\n  %s", strings.Join(missing, "\n  "))
}

// finish completes a pending (Amazon) enrollment and prints the result.
func finish(ctx context.Context, opts *RegisterOptions, prov provider.Provider, enr *provider.Enrollment, c *arsapi.Client) error {
	ios := opts.IO
	if enr.Existing {
		ios.Success("This printer is already enrolled with %s (enrollment %s, %s)", enr.Provider.Title(), enr.ID, enr.State)
	}
	signedIn := false
	if enr.NeedsSignIn() {
		url := enr.SignInURL()
		opened := false
		if !opts.NoBrowser && opts.Browser != nil {
			if err := opts.Browser.Browse(url); err == nil {
				opened = true
				fmt.Fprintf(ios.ErrOut, "Opened your browser to sign in with Amazon. If it did not open, visit:\n  %s\n", url)
			}
		}
		if !opened {
			fmt.Fprintf(ios.ErrOut, "Sign in with Amazon to finish enrolling: open this URL in a browser:\n  %s\n", url)
		}
		wctx, cancel := context.WithTimeout(ctx, opts.Wait)
		ios.StartProgress("Waiting for the Amazon sign-in…")
		_, err := enr.Wait(wctx, time.Second)
		ios.StopProgress()
		cancel()
		switch {
		case errors.Is(err, provider.ErrSignInDeclined):
			return &cmdutil.ExitError{Code: cmdutil.ExitCancelled, Err: fmt.Errorf("you chose Cancel at Amazon's sign-in, so the printer is not linked and nothing will be ordered; enrollment %s stays pending: run the same `arsctl register` again to get a new link, or `arsctl cancel %s` to drop it", enr.ID, enr.ID)}
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return fmt.Errorf("the Amazon sign-in was not completed within %s; enrollment %s stays pending: run the same `arsctl register` again to continue, or `arsctl cancel %s` to drop it", opts.Wait, enr.ID, enr.ID)
		case err != nil:
			return err
		}
		signedIn = true
	}
	if !enr.Existing || signedIn {
		ios.Success("Enrolled %s with %s: enrollment %s is %s", resolve.EnrollmentLabel(enr.Enrollment), enr.Provider.Title(), enr.ID, enr.State)
	}
	return opts.Output.Print(ios, enr, func(w io.Writer) error {
		if ios.IsStdoutTTY() {
			return nil // the line above on stderr says it all
		}
		_, err := fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", iostreams.Safe(enr.ID), iostreams.Safe(string(enr.Provider)), iostreams.Safe(string(enr.State)), iostreams.Safe(enr.Printer.Model))
		return err
	})
}

// pickerMarks shows in the printer picker what the server says of each
// printer: eligible (as which model), not eligible (why), enrolled in
// this account. Choosing a printer that is not eligible ends with why,
// before the terms; choosing an enrolled one shows its enrollment.
func pickerMarks(ctx context.Context, lookup *eligibility.Lookup) resolve.Marker {
	if lookup == nil {
		return nil
	}
	return func(p printer.Printer) string {
		lookup.Wait(ctx)
		if st := lookup.Of(p); st.State != eligibility.Unknown {
			return st.String()
		}
		return ""
	}
}

// agreedNote tells, on stderr, which terms --agree-terms agreed to: the
// registration shows them before "Agree", and a script's log should say
// the same.
func agreedNote(ios *iostreams.IOStreams, terms arsapi.Terms) {
	ios.Info("Terms: %s (version %s), agreed with --agree-terms\nAbout this service: %s", terms.Title, terms.Version, terms.AboutURL)
}

// checkPrinter rejects a printer the service cannot identify.
func checkPrinter(p printer.Printer) error {
	if p.Model == "" {
		return fmt.Errorf("the printer at %s did not report its model, so its eligibility cannot be checked%s", resolve.Address(p), problems(p))
	}
	if strings.TrimSpace(p.Serial) == "" {
		return fmt.Errorf("the printer at %s (%s) did not report a serial number, which the service needs to identify it%s; allow SNMP (UDP 161) from this machine or update the printer's firmware", resolve.Address(p), p.Model, problems(p))
	}
	return nil
}

func problems(p printer.Printer) string {
	if len(p.Problems) == 0 {
		return ""
	}
	return " (" + strings.Join(p.Problems, "; ") + ")"
}

// signedIn returns the signed-in client c, or, when opts.Client failed
// with err for want of a token, runs the sign-in on a terminal and
// returns the client built after it.
func signedIn(ctx context.Context, opts *RegisterOptions, c *arsapi.Client, err error) (*arsapi.Client, error) {
	if err == nil {
		return c, nil
	}
	if cmdutil.ExitCode(err) != cmdutil.ExitAuth || !opts.IO.CanPrompt() || opts.SignIn == nil {
		return nil, err
	}
	opts.IO.Info("Sign in to your account to finish (no account yet? choose Register on the sign-in page).")
	if err := opts.SignIn(ctx); err != nil {
		return nil, err
	}
	return opts.Client(ctx)
}

// askedProvider is the provider asked for with --provider, else the
// config's default, else "" (the user will be asked).
func askedProvider(opts *RegisterOptions) string {
	if opts.Provider == "" && opts.DefaultProvider != nil {
		return opts.DefaultProvider()
	}
	return opts.Provider
}

// providerChoices lists the provider names for messages: "canon or amazon".
func providerChoices() string { return strings.Join(provider.Names(), " or ") }

func isAuthErr(err error) bool {
	var p *arsapi.Problem
	return errors.As(err, &p) && p.Status == 401
}

// enrollErr turns provider errors into messages and exit codes.
func enrollErr(err error) error {
	var inel *provider.IneligibleError
	switch {
	case errors.As(err, &inel) && inel.OtherMake != "":
		return fmt.Errorf("%s: %s", inel.Model, inel.Why)
	case errors.As(err, &inel):
		return fmt.Errorf("%s is not eligible for the Auto Replenishment Service.\nEligible models: %s\n(`arsctl models` lists each with the series its printers report)", inel.Model, strings.Join(inel.Eligible, ", "))
	case isAuthErr(err):
		return cmdutil.AuthErrorf("the server refused the sign-in (%w); run `arsctl auth login`", err)
	}
	return err
}

// ineligible is the error for a printer that el says is not eligible.
func ineligible(p printer.Printer, el provider.Eligibility) error {
	return &provider.IneligibleError{Model: strings.TrimSpace(p.Make + " " + p.Model), OtherMake: el.OtherMake, Why: el.Why, Eligible: el.Eligible}
}

// chooseModel returns the eligible model printer p is: the one its name
// stands for, or, when the series it reports covers several, --model or
// the owner's choice at a prompt. With no terminal an ambiguous series
// needs --model (exit 2).
func chooseModel(opts *RegisterOptions, p printer.Printer, el provider.Eligibility) (string, error) {
	if opts.Model != "" || !el.Ambiguous() {
		m, err := el.Choose(p.Model, opts.Model)
		if err != nil {
			return "", cmdutil.FlagErrorf("--model: %v", err)
		}
		return m, nil
	}
	if !opts.IO.CanPrompt() {
		return "", cmdutil.FlagErrorf("--model is required when not running interactively: the printer reports %q, which may be the %s (e.g. --model %s)",
			p.Model, strings.Join(el.Candidates, " or the "), el.Candidates[0])
	}
	var options []prompt.Option
	for _, c := range el.Candidates {
		options = append(options, prompt.Option{Label: c, Value: c})
	}
	return opts.Prompter.Select("Which model is your printer?",
		fmt.Sprintf("It reports itself as %q; the model name is on the front of the printer and on the label with the serial number", p.Model), options)
}

// reportsAs says what the printer calls itself when that is not the model
// name: " (reports itself as TS5300 series)".
func reportsAs(p printer.Printer, model string) string {
	if arsapi.ModelKey(p.Model) == arsapi.ModelKey(model) {
		return ""
	}
	return " (reports itself as " + p.Model + ")"
}

// createAccount signs up: with --email and --password-stdin through the
// API, else by opening the server's sign-up page.
func createAccount(ctx context.Context, opts *RegisterOptions) error {
	ios := opts.IO
	if opts.Email == "" {
		server, err := opts.ServerURL()
		if err != nil {
			return err
		}
		u := server + "/register"
		if opts.NoBrowser || opts.Browser == nil || opts.Browser.Browse(u) != nil {
			fmt.Fprintf(ios.ErrOut, "Create your account at:\n  %s\nthen run this command again.\n", u)
			return cmdutil.SilentExit(cmdutil.ExitAuth)
		}
		fmt.Fprintf(ios.ErrOut, "Opened the sign-up page in your browser: %s\n", u)
		return nil
	}
	var password string
	switch {
	case opts.PasswordStdin:
		b, err := readLine(ios.In)
		if err != nil {
			return err
		}
		password = b
	case ios.CanPrompt():
		p, err := opts.Prompter.Password("Password for the new account")
		if err != nil {
			return err
		}
		password = p
	default:
		return cmdutil.FlagErrorf("--password-stdin is required with --email when not running interactively")
	}
	if password == "" {
		return cmdutil.FlagErrorf("the password is empty")
	}
	acct, err := opts.CreateAccountF(ctx, opts.Email, password)
	var pr *arsapi.Problem
	if errors.As(err, &pr) && pr.Code == arsapi.CodeEmailTaken {
		ios.Warning("An account for %s already exists; sign in to it", opts.Email)
		return nil
	}
	if err != nil {
		return err
	}
	ios.Success("Created account %s", acct.Email)
	return nil
}

func readLine(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// wrap folds paragraphs of text at width columns.
func wrap(text string, width int) string {
	var out []string
	for _, para := range strings.Split(text, "\n\n") {
		var lines []string
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len(line)+1+len(w) > width {
				lines = append(lines, line)
				line = w
				continue
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		if line != "" {
			lines = append(lines, line)
		}
		out = append(out, strings.Join(lines, "\n"))
	}
	return strings.Join(out, "\n\n")
}
