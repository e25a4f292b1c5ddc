package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/amazonemu"
	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cli/app"
	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/privatebus"
	"github.com/arsctl/arsctl/internal/server"
	"github.com/arsctl/arsctl/internal/server/formbrowser"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/testport"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// The scripts in testdata/script run the real arsctl (this test binary
// re-executed as "arsctl") against a real arsd started in-process on
// 127.0.0.1 with a SQLite database, real OAuth tokens from the device
// flow, simulated printers on 127.0.0.1 and the Amazon emulator.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"arsctl":   func() { os.Exit(app.Main("test")) },
		"xdg-open": func() { os.Exit(followURL(os.Args[1:])) },
	})
}

// Password is the password of every account the scripts create.
const Password = "correct horse battery staple"

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			st := &scriptState{}
			env.Values[stateKey{}] = st
			env.Defer(st.close)
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "home", ".config"))
			env.Setenv("ARS_STATE_DIR", filepath.Join(env.WorkDir, "state"))
			env.Setenv("ARS_KEYRING", "off")
			// discover waits for the server's word on each printer this
			// long at most; generous, as the machine may be loaded.
			env.Setenv("ARS_ELIGIBILITY_WAIT", "30s")
			env.Setenv("NO_COLOR", "1")
			// A browser "exists" (xdg-open in PATH follows the URL over HTTP).
			env.Setenv("BROWSER", "xdg-open")
			env.Setenv("DISPLAY", ":99")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"arsd-start":  cmdArsdStart,
			"arsd-stop":   cmdArsdStop,
			"signup":      cmdSignup,
			"login":       cmdLogin,
			"printer":     cmdPrinter,
			"printer-set": cmdPrinterSet,
			"ippeve":      cmdIPPEve,
			"enrollments": cmdEnrollments,
			"enroll":      cmdEnroll,
			"report":      cmdReport,
			"gate":        cmdGate,
			"exits":       cmdExits,
			"gate-wait":   cmdGateWait,
			"env-from":    cmdEnvFrom,
			"amazon-auto-approve": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 || neg {
					ts.Fatalf("usage: amazon-auto-approve on|off")
				}
				state(ts).emu.SetAutoApprove(args[0] == "on")
			},
			"sleep-until-expired": func(ts *testscript.TestScript, neg bool, args []string) {
				st := state(ts)
				time.Sleep(st.tokenTTL + time.Second)
			},
		},
	})
}

// exits N PROGRAM ARGS...: runs PROGRAM like exec, keeping its stdout
// and stderr for the next checks, and asserts its exit status is N.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: exits N PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if code != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], code, want)
	}
}

// env-from VAR FILE: sets VAR to FILE's content without its trailing
// newline (a secret a command printed, kept with `cp stdout FILE`).
func cmdEnvFrom(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: env-from VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimRight(ts.ReadFile(args[1]), "\n"))
}

type stateKey struct{}

// scriptState is what one script's commands share.
type scriptState struct {
	mu       sync.Mutex
	stops    []func()
	arsdStop func() error
	backend  string // arsd's own address
	gated    bool   // ARS_SERVER is the gate proxy in front of arsd
	proxy    *gateProxy
	tokenTTL time.Duration
	// authCacheTTL is arsd's auth_cache_ttl (0: its default).
	authCacheTTL time.Duration
	db           string
	emu          *amazonemu.Emulator
	emuURL       string
	// printers are the simulated printers by the variable naming them.
	printers map[string]*printersim.Printer
}

func state(ts *testscript.TestScript) *scriptState { return ts.Value(stateKey{}).(*scriptState) }

func (s *scriptState) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.arsdStop != nil {
		_ = s.arsdStop()
	}
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

// arsd-start [-token-ttl D] [-gate]: starts arsd (SQLite in
// $WORK/arsd.db, the Amazon provider against the emulator, which approves
// sign-ins at once) and sets ARS_SERVER; with -gate, ARS_SERVER is a proxy
// in front of it (see gate). Run again after arsd-stop, it restarts on the
// same database and address.
func cmdArsdStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! arsd-start")
	}
	st := state(ts)
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-gate":
			st.gated = true
		case "-no-auth-cache":
			// Every request checks its token in the database, so that
			// a token revoked by the script is refused at once.
			st.authCacheTTL = -1
		case "-token-ttl":
			d, err := time.ParseDuration(args[i+1])
			ts.Check(err)
			st.tokenTTL = d
			i++
		default:
			ts.Fatalf("arsd-start: unknown argument %q", args[i])
		}
	}
	if st.emu == nil {
		st.emu = amazonemu.New(amazonemu.Config{AutoApprove: true})
		emuSrv := httptest.NewServer(st.emu)
		st.stops = append(st.stops, emuSrv.Close)
		st.emuURL = emuSrv.URL
		st.proxy = newGateProxy()
		ps := httptest.NewServer(st.proxy)
		st.stops = append(st.stops, ps.Close)
		st.proxy.url = ps.URL
		st.db = ts.MkAbs("arsd.db")
	}
	addr := "127.0.0.1:0"
	if st.backend != "" {
		addr = strings.TrimPrefix(st.backend, "http://")
	}
	ln, err := net.Listen("tcp", addr)
	ts.Check(err)
	public := "http://" + ln.Addr().String()
	if st.gated {
		public = st.proxy.url
	}
	cfg := server.Config{
		Listener:        ln,
		PublicURL:       public,
		Database:        st.db,
		DataDir:         ts.MkAbs("arsd-data"),
		AccessTokenTTL:  server.Duration(st.tokenTTL),
		AuthCacheTTL:    server.Duration(st.authCacheTTL),
		SignupPerMinute: 1000,
		// Orders are handed over at once here; the hold window is tested
		// by internal/server and its store.
		Orders: server.OrdersConfig{Hold: new(server.Duration)},
		Amazon: server.AmazonConfig{
			ClientID: st.emu.ClientID(), ClientSecret: st.emu.ClientSecret(),
			AuthorizeURL: st.emuURL + "/ap/oa", TokenURL: st.emuURL + "/auth/o2/token", DRSBaseURL: st.emuURL,
			DeviceModel: amazonemu.DefaultDeviceModel, TestDevice: true,
		},
	}
	_, stop, err := server.Start(context.Background(), cfg)
	ts.Check(err)
	st.mu.Lock()
	st.arsdStop = stop
	st.backend = "http://" + ln.Addr().String()
	st.proxy.setBackend(st.backend)
	st.mu.Unlock()
	ts.Setenv("ARS_SERVER", public)
	ts.Setenv("ARS_SERVER_HOSTPORT", strings.TrimPrefix(public, "http://"))
}

// arsd-stop stops arsd: its address then refuses connections.
func cmdArsdStop(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.arsdStop == nil {
		ts.Fatalf("arsd is not running")
	}
	ts.Check(st.arsdStop())
	st.arsdStop = nil
}

// signup EMAIL: creates the account on arsd (POST /v1/accounts), signs in
// with the real OAuth device flow and stores the tokens where arsctl
// keeps them ($ARS_STATE_DIR/tokens.json), as `arsctl auth login` does.
func cmdSignup(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: signup EMAIL")
	}
	server := ts.Getenv("ARS_SERVER")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := arsapi.New(server)
	if _, err := c.CreateAccount(ctx, arsapi.CreateAccountRequest{Email: args[0], Password: Password}); err != nil {
		ts.Fatalf("create account: %v", err)
	}
	cmdLogin(ts, neg, args)
}

// login EMAIL: signs in to an existing account like signup does.
func cmdLogin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: login EMAIL")
	}
	server := ts.Getenv("ARS_SERVER")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := oauthtest.DeviceLogin(ctx, &http.Client{}, server, args[0], Password)
	ts.Check(err)
	store := &auth.FileStore{Path: filepath.Join(ts.Getenv("ARS_STATE_DIR"), "tokens.json")}
	ts.Check(store.Save(server, tok))
}

// printer NAME [serial=S] [make=K] [model=M] [name=N] [levels=C=10,Y=5]:
// starts a simulated printer (Canon unless make says) on 127.0.0.1 and sets $NAME to its address and
// $NAME_UUID to its UUID.
func cmdPrinter(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: printer VAR [serial=S] [make=K] [model=M] [name=N] [levels=K=V,...]")
	}
	cfg := printersim.Config{}
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "serial":
			cfg.Serial = v
		case "make":
			cfg.Make = v
		case "model":
			cfg.Model = v
		case "name":
			cfg.Name = v
		case "levels":
			cfg.Levels = map[string]int{}
			for _, kv := range strings.Split(v, ",") {
				n, l, _ := strings.Cut(kv, ":")
				lv, err := strconv.Atoi(l)
				ts.Check(err)
				cfg.Levels[n] = lv
			}
		default:
			ts.Fatalf("printer: unknown setting %q", a)
		}
	}
	p := printersim.New(cfg)
	ts.Check(p.Start(context.Background(), "127.0.0.1:0"))
	st := state(ts)
	st.mu.Lock()
	st.stops = append(st.stops, func() { _ = p.Close() })
	if st.printers == nil {
		st.printers = map[string]*printersim.Printer{}
	}
	st.printers[args[0]] = p
	st.mu.Unlock()
	ts.Setenv(args[0], p.Addr())
	ts.Setenv(args[0]+"_UUID", p.Config().UUID)
}

// printer-set VAR SUPPLY LEVEL [low|empty]: sets the level of a supply of
// the printer that VAR names, and what the printer says of it in
// printer-state-reasons (nothing when left out).
func cmdPrinterSet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: printer-set VAR SUPPLY LEVEL [low|empty]")
	}
	st := state(ts)
	st.mu.Lock()
	p := st.printers[args[0]]
	st.mu.Unlock()
	if p == nil {
		ts.Fatalf("printer-set: no printer %s", args[0])
	}
	lv, err := strconv.Atoi(args[2])
	ts.Check(err)
	ts.Check(p.SetLevel(args[1], lv))
	says := ""
	if len(args) == 4 {
		says = args[3]
	}
	ts.Check(p.SetSays(args[1], says))
}

// ippeve NAME: starts CUPS's ippeveprinter (a real IPP Everywhere printer
// that reports no serial number) on 127.0.0.1 with DNS-SD registration
// off, and sets $NAME to its address. ippeveprinter still connects to a
// D-Bus system bus for Avahi, so it gets a private dbus-daemon with no
// Avahi on it: nothing is advertised anywhere.
func cmdIPPEve(ts *testscript.TestScript, neg bool, args []string) {
	for _, bin := range []string{"ippeveprinter", "dbus-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			ts.Fatalf("%s is not installed: run scripts/install-deps.sh (cups-ipp-utils, dbus)", bin)
		}
	}
	dir := ts.MkAbs("ippeve")
	ts.Check(os.MkdirAll(filepath.Join(dir, "spool"), 0o700))
	ts.Check(os.MkdirAll(filepath.Join(dir, "keys"), 0o700))
	st := state(ts)
	bus, stopBus, err := privatebus.Start(dir)
	ts.Check(err)
	st.mu.Lock()
	st.stops = append(st.stops, stopBus)
	st.mu.Unlock()

	port, err := testport.Free()
	ts.Check(err)
	cmd := exec.Command("ippeveprinter", "-r", "off", "-n", "localhost", "-p", strconv.Itoa(port),
		"-K", filepath.Join(dir, "keys"), "-d", filepath.Join(dir, "spool"), "-M", "Canon", "-m", "TS8320 series", "Canon TS8320 no serial")
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+bus)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ts.Check(cmd.Start())
	st.mu.Lock()
	st.stops = append(st.stops, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	st.mu.Unlock()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			ts.Fatalf("ippeveprinter did not start: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Setenv(args[0], addr)
}

// enrollments EMAIL SERIAL COUNT [STATE]: asserts, through the API as
// that account, how many enrollments the printer has (in STATE).
func cmdEnrollments(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: enrollments EMAIL SERIAL COUNT [STATE]")
	}
	server := ts.Getenv("ARS_SERVER")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := oauthtest.DeviceLogin(ctx, &http.Client{}, server, args[0], Password)
	ts.Check(err)
	c := arsapi.New(server, arsapi.WithHTTPClient(oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))))
	es, err := c.FindEnrollments(ctx, arsapi.ListOptions{Serial: args[1]})
	ts.Check(err)
	n := 0
	var states []string
	for _, e := range es {
		states = append(states, string(e.State))
		if len(args) < 4 || string(e.State) == args[3] {
			n++
		}
	}
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	if (n == want) == neg {
		ts.Fatalf("printer %s has %d matching enrollments (states %v), want %s%d", args[1], n, states, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// ownerClient returns an API client of the account arsctl is signed in
// to (signup, login), with arsctl's saved token.
func ownerClient(ctx context.Context, ts *testscript.TestScript) *arsapi.Client {
	server := ts.Getenv("ARS_SERVER")
	store := &auth.FileStore{Path: filepath.Join(ts.Getenv("ARS_STATE_DIR"), "tokens.json")}
	tok, err := store.Load(server)
	ts.Check(err)
	return arsapi.New(server, arsapi.WithHTTPClient(oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))))
}

// enroll SERIAL LABEL: enrolls a TS8320 with Canon through the API,
// with no level report yet (report sends them).
func cmdEnroll(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: enroll SERIAL LABEL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := ownerClient(ctx, ts).CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
		Printer: arsapi.Printer{Model: "TS8320", Serial: args[0], Label: args[1]}, TermsVersion: "2026-01"}, "")
	ts.Check(err)
}

// report SERIAL DAYS_AGO SUPPLY=LEVEL...: reports levels of the
// printer SERIAL as read DAYS_AGO days ago (a printer's past, replayed),
// and prints the orders it placed, one "ordered SUPPLY STATE: REASON" a
// line.
func cmdReport(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: report SERIAL DAYS_AGO SUPPLY=LEVEL...")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := ownerClient(ctx, ts)
	es, err := c.FindEnrollments(ctx, arsapi.ListOptions{Serial: args[0]})
	ts.Check(err)
	if len(es) != 1 {
		ts.Fatalf("printer %s has %d enrollments", args[0], len(es))
	}
	days, err := strconv.ParseFloat(args[1], 64)
	ts.Check(err)
	rep := arsapi.LevelReport{ReadAt: time.Now().Add(-time.Duration(days * float64(24*time.Hour)))}
	for _, kv := range args[2:] {
		n, l, _ := strings.Cut(kv, "=")
		lv, err := strconv.Atoi(l)
		ts.Check(err)
		rep.Supplies = append(rep.Supplies, printer.Supply{Name: n, Type: "inkCartridge", Level: lv, Low: 15})
	}
	res, err := c.ReportLevels(ctx, es[0].ID, rep)
	ts.Check(err)
	for _, o := range res.Orders {
		fmt.Fprintf(ts.Stdout(), "ordered %s %s: %s\n", o.Supply, o.State, o.Reason)
	}
}

// gate MODE: how the proxy in front of arsd treats POST /v1/enrollments:
// "pass" forwards it; "hold-before" holds it without forwarding until the
// client goes away; "hold-after" forwards it, then holds the answer until
// the client goes away. gate-wait waits until a request was held.
func cmdGate(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || (args[0] != "pass" && args[0] != "hold-before" && args[0] != "hold-after") {
		ts.Fatalf("usage: gate pass|hold-before|hold-after")
	}
	state(ts).proxy.setMode(args[0])
}

func cmdGateWait(ts *testscript.TestScript, neg bool, args []string) {
	select {
	case <-state(ts).proxy.held:
	case <-time.After(2 * time.Minute):
		ts.Fatalf("no POST /v1/enrollments reached the server")
	}
}

// gateProxy is a reverse proxy in front of arsd that can hold enrollment
// requests, to kill arsctl at a known point of register.
type gateProxy struct {
	url  string
	mu   sync.Mutex
	mode string
	rp   *httputil.ReverseProxy
	held chan struct{}
}

func newGateProxy() *gateProxy {
	return &gateProxy{mode: "pass", held: make(chan struct{}, 16)}
}

func (g *gateProxy) setBackend(u string) {
	target, _ := url.Parse(u)
	g.mu.Lock()
	g.rp = httputil.NewSingleHostReverseProxy(target)
	g.mu.Unlock()
}

func (g *gateProxy) setMode(m string) {
	g.mu.Lock()
	g.mode = m
	g.mu.Unlock()
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(s int)           { b.status = s }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func (g *gateProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	mode, rp := g.mode, g.rp
	g.mu.Unlock()
	if rp == nil {
		http.Error(w, "arsd is not running", http.StatusBadGateway)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/enrollments" || mode == "pass" {
		rp.ServeHTTP(w, r)
		return
	}
	// Read the whole request, as a server does before handling it, so that
	// the connection is watched and the request's context ends when the
	// client goes away.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch mode {
	case "hold-before":
		g.held <- struct{}{}
		<-r.Context().Done()
	case "hold-after":
		// Forward with a context that outlives the client, as a server
		// that already received the whole request does.
		bw := &bufferedWriter{header: http.Header{}}
		rp.ServeHTTP(bw, r.WithContext(context.WithoutCancel(r.Context())))
		g.held <- struct{}{}
		<-r.Context().Done()
	}
}

// followURL is the scripts' web browser (xdg-open): it follows the URL
// and its redirects over HTTP with cookies, presses Continue where a page
// asks to confirm (the Amazon sign-in link), and fails unless the last
// page answers 200. With $XDG_OPEN_SIGN_IN set to an email address, its
// user signs in to arsd as that account and allows the client on the
// consent page.
func followURL(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: xdg-open URL")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if email := os.Getenv("XDG_OPEN_SIGN_IN"); email != "" {
		if err := oauthtest.SignInBrowser(ctx, &http.Client{}, args[0], email, Password); err != nil {
			fmt.Fprintln(os.Stderr, "xdg-open:", err)
			return 1
		}
		return 0
	}
	b, err := formbrowser.New(&http.Client{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "xdg-open:", err)
		return 1
	}
	page, err := b.Get(ctx, args[0])
	if err == nil && page.Status == http.StatusOK {
		if f := page.Form(func(f *formbrowser.Form) bool { return f.HasButton("action") }); f != nil {
			page, err = b.Submit(ctx, page, f, nil, "continue")
		}
		// XDG_OPEN_AMAZON=cancel: Cancel on Amazon's sign-in page (the
		// emulator's, when it does not approve at once).
		if f := page.Form(func(f *formbrowser.Form) bool { return f.Has("request") }); err == nil && f != nil && os.Getenv("XDG_OPEN_AMAZON") == "cancel" {
			page, err = b.Submit(ctx, page, f, nil, "1")
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xdg-open:", err)
		return 1
	}
	if page.Status != http.StatusOK {
		fmt.Fprintln(os.Stderr, "xdg-open:", page.URL.Redacted(), page.Text())
		return 1
	}
	return 0
}
