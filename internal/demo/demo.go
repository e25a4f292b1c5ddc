// Package demo implements `arsd demo`: the whole journey of the service,
// on this machine only. It starts an ARS server (arsd) in-process
// on 127.0.0.1 with a temporary SQLite database, a simulated Canon PIXMA on
// 127.0.0.1 and a back office receiving signed order webhooks, then runs
// the real commands: discover → register → status → a low-ink report that
// places exactly one order → cancel with a reason. No multicast is sent
// and nothing is advertised on the network: the printer is found with the
// direct --host probe. With --provider amazon the plan is fulfilled by
// Amazon Dash Replenishment, played by the in-repo emulator
// (internal/amazonemu) on 127.0.0.1, and the demo plays the browser that
// signs in with Amazon. It lives with arsd, which carries the server
// anyway, so that arsctl carries neither the server nor the simulator.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/amazonemu"
	"github.com/arsctl/arsctl/internal/cli/root"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/server"
	"github.com/arsctl/arsctl/internal/server/formbrowser"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/webhook"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Options are the options of `arsd demo`.
type Options struct {
	F *cmdutil.Factory
	// Keep leaves the temporary directory (database, state) in place.
	Keep bool
	// Provider is who ships the ink: canon (the default) or amazon.
	Provider arsapi.Provider
	// Root builds the arsctl command tree the demo's steps run in
	// (root.NewCmdRoot).
	Root func(*cmdutil.Factory) *cobra.Command
}

// NewCmdDemo returns the demo command; f is the factory the arsctl
// commands of the demo's steps are built from.
func NewCmdDemo(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, Root: root.NewCmdRoot, Provider: arsapi.ProviderCanon}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Walk through the whole service on this machine, safely",
		Long: `Run the whole Auto Replenishment journey locally, with nothing to set up:

  1. an ARS server (arsd) starts in-process on 127.0.0.1 with a temporary
     SQLite database, a simulated Canon PIXMA printer answers IPP on
     127.0.0.1, and a small back office receives signed order webhooks;
  2. arsctl discover finds the printer (direct probe, no multicast);
  3. arsctl register enrolls it with the canon provider under a demo account
     (with --provider amazon: Amazon Dash Replenishment, played by the
     in-repo Amazon emulator on 127.0.0.1; the demo plays your browser,
     which signs in with Amazon and allows it);
  4. arsctl status shows the plan and the ink levels;
  5. the colour cartridge (cyan, magenta and yellow in one) runs low;
     arsctl monitor --once reports the levels and the service places
     exactly one order for it, with the back office or with Amazon (a
     second report orders nothing);
  6. arsctl cancel cancels the plan with a reason.

Every step is the real arsctl command, run in-process and printed as you would
type it. Nothing is sent to your network and nothing is left behind (unless
--keep).`,
		Example: `  go run ./cmd/arsd demo     # from a checkout, nothing else to install
  arsd demo
  arsd demo --provider amazon  # the Amazon branch, with the in-repo emulator
  arsd demo --keep           # keep the temporary database and state for a look`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Provider != arsapi.ProviderCanon && opts.Provider != arsapi.ProviderAmazon {
				return cmdutil.FlagErrorf("--provider %q: the demo runs with canon or amazon", opts.Provider)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "Keep the temporary directory")
	cmd.Flags().StringVar((*string)(&opts.Provider), "provider", string(arsapi.ProviderCanon), "Who ships the ink in the demo: canon or `amazon` (Amazon's emulator)")
	return cmd
}

// backOffice receives the service's order webhooks and checks signatures.
type backOffice struct {
	secret []byte
	mu     sync.Mutex
	events []map[string]any
	bad    int
}

func (b *backOffice) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := webhook.Verify(b.secret, r.Header.Get("X-ARS-Timestamp"), body, r.Header.Get("X-ARS-Signature"), 5*time.Minute); err != nil {
		b.mu.Lock()
		b.bad++
		b.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// placed counts the order.placed events received: orders handed to the
// back office (order.scheduled events only announce them).
func (b *backOffice) placed() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, ev := range b.events {
		if ev["type"] == webhook.EventType {
			n++
		}
	}
	return n
}

// Run runs the demo.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	ios := f.IOStreams
	dir, err := os.MkdirTemp("", "arsctl-demo-")
	if err != nil {
		return err
	}
	if opts.Keep {
		defer fmt.Fprintf(ios.ErrOut, "\nThe demo's files are kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	// On a terminal the demo's own lines break between words, under
	// their first word, as the commands' messages do.
	wrap := func(first, rest, text string) string {
		lines := []string{text}
		if ios.IsStderrTTY() {
			lines = iostreams.Wrap(text, ios.TerminalWidth()-utf8.RuneCountInString(first))
		}
		return first + strings.Join(lines, "\n"+rest)
	}
	step := func(n int, title string) {
		first := fmt.Sprintf("── %d. ", n)
		fmt.Fprintf(ios.ErrOut, "%s\n\n", ios.Colorize("1;36", wrap(first, strings.Repeat(" ", utf8.RuneCountInString(first)), title)))
	}
	say := func(format string, a ...any) {
		text := fmt.Sprintf(format, a...)
		body := strings.TrimRight(text, "\n")
		first := "   "
		if strings.HasPrefix(body, "(") {
			// A remark: the rest under its first word.
			fmt.Fprintln(ios.ErrOut, wrap(first, first+" ", body)+text[len(body):])
			return
		}
		// "service (arsd)        http://…": the rest under the value.
		if i := strings.Index(body, "   "); i > 0 && i < 24 {
			j := i + len(body[i:]) - len(strings.TrimLeft(body[i:], " "))
			first, body = first+body[:j], body[j:]
		}
		fmt.Fprintln(ios.ErrOut, wrap(first, strings.Repeat(" ", utf8.RuneCountInString(first)), body)+text[len(strings.TrimRight(text, "\n")):])
	}

	// The back office, the service and the printer, all on 127.0.0.1.
	secret := hex.EncodeToString(randomBytes(32))
	bo := &backOffice{secret: []byte(secret)}
	boLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start back office: %w", err)
	}
	boSrv := &http.Server{Handler: bo, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = boSrv.Serve(boLn) }()
	defer boSrv.Close()

	cfg := server.Config{
		Addr:             "127.0.0.1:0",
		Database:         filepath.Join(dir, "arsd.db"),
		DataDir:          dir,
		DispatchInterval: server.Duration(200 * time.Millisecond),
		Webhook:          server.WebhookConfig{URL: "http://" + boLn.Addr().String() + "/orders", Secret: secret},
	}
	amazon := opts.Provider == arsapi.ProviderAmazon
	var emu *amazonemu.Emulator
	if amazon {
		var emuURL string
		var stopEmu func()
		emu, emuURL, stopEmu, err = startAmazon()
		if err != nil {
			return err
		}
		defer stopEmu()
		cfg.Amazon = server.AmazonConfig{
			ClientID: emu.ClientID(), ClientSecret: emu.ClientSecret(),
			AuthorizeURL: emuURL + "/ap/oa", TokenURL: emuURL + "/auth/o2/token", DRSBaseURL: emuURL,
			DeviceModel: demoDeviceModel, Slots: map[string]string{"black": "black", "color": "color"}, TestDevice: true,
		}
	}
	baseURL, stop, err := server.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("start the demo service: %w", err)
	}
	defer stop()

	serial := "KNMA" + strings.ToUpper(hex.EncodeToString(randomBytes(3)))
	// A PIXMA TS5320 names itself "Canon TS5300 series", as the real one
	// does, and has a black and a tri-colour cartridge.
	sim := printersim.New(printersim.Config{Model: "TS5300 series", Serial: serial})
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		return fmt.Errorf("start the simulated printer: %w", err)
	}
	defer sim.Close()
	host := sim.Addr()

	fmt.Fprintf(ios.ErrOut, "%s\n\n", ios.Colorize("1", "arsd demo: the Auto Replenishment Service journey, on this machine only"))
	say("service (arsd)        %s  (SQLite in %s)", baseURL, dir)
	say("simulated printer     ipp://%s/ipp/print  (%s %s, serial %s)", host, sim.Config().Make, sim.Config().Model, serial)
	if amazon {
		say("Amazon (emulator)     %s  (Login with Amazon and Dash Replenishment)", cfg.Amazon.DRSBaseURL)
	} else {
		say("back office webhook   http://%s/orders", boLn.Addr())
	}

	// A demo account, signed in the way a person would be: the device
	// flow, approved through the service's sign-in page.
	email := "demo-" + hex.EncodeToString(randomBytes(3)) + "@example.invalid"
	password := hex.EncodeToString(randomBytes(12))
	if _, err := arsapi.New(baseURL).CreateAccount(ctx, arsapi.CreateAccountRequest{Email: email, Password: password, Name: "Demo"}); err != nil {
		return fmt.Errorf("create the demo account: %w", err)
	}
	tok, err := oauthtest.DeviceLogin(ctx, nil, baseURL, email, password)
	if err != nil {
		return fmt.Errorf("sign in the demo account: %w", err)
	}
	say("demo account          %s (signed in with the device flow)", email)
	fmt.Fprintln(ios.ErrOut)

	env := map[string]string{
		"ARS_TOKEN":      tok.AccessToken,
		"ARS_SERVER":     baseURL,
		"ARS_KEYRING":    "off",
		"ARS_STATE_DIR":  filepath.Join(dir, "state"),
		"ARS_CONFIG_DIR": filepath.Join(dir, "config"),
		"ARS_NO_BROWSER": "1",
	}
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return f.Getenv(k)
	}
	var browser cmdutil.Browser = cmdutil.SystemBrowser{Getenv: getenv}
	if amazon {
		browser = &demoBrowser{ctx: ctx, say: say}
	}
	arsctl := func(args ...string) error {
		fmt.Fprintf(ios.ErrOut, "   %s\n", ios.Colorize("2", "$ arsctl "+strings.Join(args, " ")))
		sub := &cmdutil.Factory{
			IOStreams: ios,
			Getenv:    getenv,
			Config:    func() (*config.Config, error) { return config.Load(getenv) },
			Prompter:  f.Prompter,
			Browser:   browser,
			Output:    &cmdutil.OutputOptions{},
			Version:   f.Version,
		}
		cmd := opts.Root(sub)
		cmd.SetArgs(args)
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		err := cmd.ExecuteContext(ctx)
		fmt.Fprintln(ios.ErrOut)
		return err
	}
	api := arsapi.New(baseURL, arsapi.WithHTTPClient(&http.Client{Transport: bearer{tok.AccessToken}}))

	step(1, "Find the printer (the app searches for your printer on the network)")
	if err := arsctl("discover", "--host", host); err != nil {
		return fmt.Errorf("demo step discover: %w", err)
	}

	register := []string{"register", "--host", host, "--provider", "canon", "--agree-terms", "--yes"}
	if amazon {
		step(2, "Register: select the printer, agree to the terms, choose Amazon, sign in with Amazon in the browser")
		say("(the demo plays your browser: it opens the link arsctl gives, presses Continue, and the Amazon emulator signs in and allows)\n")
		register = []string{"register", "--host", host, "--provider", "amazon", "--agree-terms"}
	} else {
		step(2, "Register: select the printer, agree to the terms, choose Canon, confirm model and serial")
	}
	if err := arsctl(register...); err != nil {
		return fmt.Errorf("demo step register: %w", err)
	}
	enrollments, err := api.FindEnrollments(ctx, arsapi.ListOptions{Serial: serial})
	if err != nil || len(enrollments) != 1 {
		return fmt.Errorf("demo: expected one enrollment for %s, got %d (%v)", serial, len(enrollments), err)
	}
	id := enrollments[0].ID

	step(3, "Status: the monitor reports the ink levels; status shows the plan and the levels")
	if err := arsctl("monitor", "--once", "--no-mdns", "--host", host); err != nil {
		return fmt.Errorf("demo step first level report: %w", err)
	}
	if err := arsctl("status", serial); err != nil {
		return fmt.Errorf("demo step status: %w", err)
	}

	step(4, "Ink runs low: the colour cartridge drops to 9%; the next report places one order for it")
	if err := sim.SetLevel("Color", 9); err != nil {
		return err
	}
	say("(the printer now reports Color, its cyan-magenta-yellow cartridge, at 9%%, below its low level of 15%%)\n")
	if err := arsctl("monitor", "--once", "--no-mdns", "--host", host); err != nil {
		return fmt.Errorf("demo step low-ink report: %w", err)
	}
	say("(a second report of the same low level must not order again)\n")
	if err := arsctl("monitor", "--once", "--no-mdns", "--host", host); err != nil {
		return fmt.Errorf("demo step repeated report: %w", err)
	}
	orders, err := api.ListOrders(ctx, id)
	if err != nil {
		return fmt.Errorf("demo: list orders: %w", err)
	}
	if len(orders) != 1 || orders[0].Supply != "Color" {
		return fmt.Errorf("demo: expected exactly one order, for Color; got %d: %+v", len(orders), orders)
	}
	// A new order waits in its hold window (24 h by default), when the
	// owner is told and may skip it; the demo ships it at once.
	say("(the order is scheduled: it waits 24 h, the hold window, in which you are told and may skip it; the demo ships it now)\n")
	if err := arsctl("orders", "ship", orders[0].ID); err != nil {
		return fmt.Errorf("demo step ship the order: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	switch {
	case amazon:
		for len(emu.Orders()) == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if eo := emu.Orders(); len(eo) == 1 {
			say("Amazon Dash Replenishment (emulator) received the order for slot %s (detail %s)\n", eo[0].Slot, eo[0].DetailCode)
		} else {
			say("Amazon Dash Replenishment (emulator) has not received the order yet (%d received)\n", len(eo))
		}
	default:
		for bo.placed() == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if bo.placed() == 1 {
			say("back office received the signed order for Color (signature verified)\n")
		} else {
			say("back office has not received the order yet (%d received)\n", bo.placed())
		}
	}
	if err := arsctl("status", serial); err != nil {
		return fmt.Errorf("demo step status: %w", err)
	}

	step(5, "Cancel the plan, giving a reason")
	if err := arsctl("cancel", serial, "--reason", "printing-less", "--yes"); err != nil {
		return fmt.Errorf("demo step cancel: %w", err)
	}
	e, err := api.GetEnrollment(ctx, id)
	if err != nil {
		return fmt.Errorf("demo: read enrollment: %w", err)
	}
	if e.State != arsapi.StateCancelled {
		return fmt.Errorf("demo: enrollment is %s after cancel, want cancelled", e.State)
	}
	if err := arsctl("status", serial); err != nil {
		return fmt.Errorf("demo step final status: %w", err)
	}

	ios.Success("Demo complete: printer found, enrolled, one order placed for the low colour cartridge, plan cancelled.")
	ios.Info("  Next: run `arsd` for a service of your own, then `arsctl discover` and\n  `arsctl register`.")
	return nil
}

// demoDeviceModel is the Dash Replenishment device model of the demo's
// printer in the Amazon emulator: a black and a tri-colour cartridge.
const demoDeviceModel = "ars-demo-printer"

// startAmazon starts the Amazon emulator on 127.0.0.1. It approves every
// sign-in at once, as if the person had signed in and pressed Allow.
func startAmazon() (*amazonemu.Emulator, string, func(), error) {
	emu := amazonemu.New(amazonemu.Config{AutoApprove: true, DeviceModels: map[string][]string{demoDeviceModel: {"black", "color"}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, fmt.Errorf("start the Amazon emulator: %w", err)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return emu, "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

var heading = regexp.MustCompile(`<h1>([^<]*)</h1>`)

// demoBrowser plays the person at the browser for the Amazon sign-in: it
// opens the link, presses Continue on arsd's page and follows Amazon (the
// emulator) back to arsd, whose last page it tells.
type demoBrowser struct {
	ctx context.Context
	say func(format string, a ...any)
}

func (d *demoBrowser) Browse(u string) error {
	b, err := formbrowser.New(nil)
	if err != nil {
		return err
	}
	page, err := b.Get(d.ctx, u)
	if err != nil {
		return err
	}
	f := page.Form(func(f *formbrowser.Form) bool { return f.HasButton("action") })
	if f == nil {
		return fmt.Errorf("the sign-in page has no Continue button: %s", page.Text())
	}
	if page, err = b.Submit(d.ctx, page, f, nil, "continue"); err != nil {
		return err
	}
	if page.Status != http.StatusOK {
		return fmt.Errorf("the Amazon sign-in ended on %s", page.Text())
	}
	title := page.URL.Redacted()
	if m := heading.FindSubmatch(page.Body); m != nil {
		title = html.UnescapeString(string(m[1]))
	}
	d.say("(browser: Continue → Amazon signs in and allows → arsd's page %q)", title)
	return nil
}

// bearer adds a bearer token to requests (the demo's own checks).
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
