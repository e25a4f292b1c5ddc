package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/server"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// The interactive path of `arsctl register`, driven through a real
// pseudo-terminal: the real arsctl, a real arsd, simulated printers.

type ptyEnv struct {
	url    string
	env    []string
	client *arsapi.Client
	hosts  []string
}

func newPTYEnv(t *testing.T) *ptyEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	url, stop, err := server.Start(ctx, server.Config{Database: filepath.Join(dir, "arsd.db"), DataDir: dir, SignupPerMinute: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	if _, err := arsapi.New(url).CreateAccount(ctx, arsapi.CreateAccountRequest{Email: "owner@example.com", Password: Password}); err != nil {
		t.Fatal(err)
	}
	tok := oauthtest.Token(t, url, "owner@example.com", Password)
	e := &ptyEnv{url: url, client: arsapi.New(url, arsapi.WithHTTPClient(oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))))}
	for _, c := range []printersim.Config{{Serial: "KNMA00081", Name: "Office"}, {Serial: "KNMA00082", Name: "Kitchen"}} {
		p := printersim.New(c)
		if err := p.Start(ctx, "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		e.hosts = append(e.hosts, p.Addr())
	}
	e.env = append(os.Environ(),
		"ARS_SERVER="+url, "ARS_TOKEN="+tok.AccessToken,
		"HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "ARS_STATE_DIR="+filepath.Join(dir, "state"),
		"TERM=xterm-256color", "NO_COLOR=1", "ARS_NO_BROWSER=1", "ARS_KEYRING=off")
	return e
}

func (e *ptyEnv) enrollments(t *testing.T) []arsapi.Enrollment {
	t.Helper()
	l, err := e.client.ListEnrollments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// term is arsctl running on a pseudo-terminal.
type term struct {
	t    *testing.T
	f    *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	seen int
	done chan struct{}
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[=>()][0-9A-Za-z]?`)

func startTerm(t *testing.T, env []string, args ...string) *term {
	t.Helper()
	bin, err := exec.LookPath("arsctl")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return startTermCmd(t, cmd)
}

// startTermCmd runs cmd (arsctl, possibly through a wrapper) on a new
// pseudo-terminal.
func startTermCmd(t *testing.T, cmd *exec.Cmd) *term {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, f: f, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = f.Close()
	})
	return tm
}

// raw is everything written to the terminal, escape sequences included.
func (tm *term) raw() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

func (tm *term) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return ansi.ReplaceAllString(tm.out.String(), "")
}

// expect waits until s appears in the output after what was matched
// before.
func (tm *term) expect(s string) {
	tm.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		txt := tm.text()
		if i := strings.Index(txt[min(tm.seen, len(txt)):], s); i >= 0 {
			tm.seen += i + len(s)
			// Let the prompt finish drawing and take the terminal.
			time.Sleep(200 * time.Millisecond)
			return
		}
		select {
		case <-tm.done:
			tm.t.Fatalf("arsctl ended before showing %q; output:\n%s", s, txt)
		default:
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%q did not appear; output:\n%s", s, txt)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const (
	keyUp    = "\x1b[A"
	keyDown  = "\x1b[B"
	keyLeft  = "\x1b[D"
	keyEnter = "\r"
	keyCtrlC = "\x03"
)

func (tm *term) send(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		if _, err := tm.f.Write([]byte(k)); err != nil {
			tm.t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait returns arsctl's exit status.
func (tm *term) wait() int {
	tm.t.Helper()
	err := tm.cmd.Wait()
	<-tm.done
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		tm.t.Fatal(err)
	}
	return 0
}

// The steps of an interactive register: the prompt, then the keys that
// answer it (arrows and Enter).
var registerSteps = []struct{ prompt, keys []string }{
	{[]string{"Select your printer"}, []string{keyDown, keyEnter}},
	{[]string{"Do you agree to these terms?"}, []string{keyLeft, keyEnter}},
	{[]string{"Sign up through Amazon or Canon?"}, []string{keyDown, keyUp, keyEnter}},
	{[]string{"Is this your printer?"}, []string{keyEnter}},
}

func TestRegisterInteractivePTY(t *testing.T) {
	e := newPTYEnv(t)
	tm := startTerm(t, e.env, "register", "--host", e.hosts[0], "--host", e.hosts[1])
	for _, s := range registerSteps {
		tm.expect(s.prompt[0])
		tm.send(s.keys...)
	}
	tm.expect("Enrolled TS8320")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tm.text())
	}
	out := tm.text()
	t.Logf("terminal output:\n%s", out)
	for _, want := range []string{"Kitchen", "About this service: http", "Model: TS8320", "****0082"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "About this service"); n != 1 {
		t.Errorf("About this service shown %d times before the Agree prompt, want once:\n%s", n, out)
	}
	es := e.enrollments(t)
	if len(es) != 1 || es[0].Printer.Serial != "KNMA00082" || es[0].Provider != arsapi.ProviderCanon || es[0].State != arsapi.StateActive {
		t.Fatalf("enrollments = %+v", es)
	}
}

// startSim starts a simulated printer with cfg on 127.0.0.1 for the
// length of the test and returns its address.
func startSim(t *testing.T, cfg printersim.Config) string {
	t.Helper()
	p := printersim.New(cfg)
	if err := p.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p.Addr()
}

// A printer that reports a series covering two eligible models: the owner
// picks the model before the terms, then sees it with the serial to
// confirm; one covering one model goes straight to the confirmation.
func TestRegisterSeriesPTY(t *testing.T) {
	e := newPTYEnv(t)
	ts9500 := startSim(t, printersim.Config{Make: "Canon", Model: "TS9500 series", Name: "Canon TS9500 series", Serial: "KNMA00091"})
	tm := startTerm(t, e.env, "register", "--host", ts9500)
	tm.expect("Which model is your printer?")
	tm.expect("TS9521C")
	tm.send(keyDown, keyEnter)
	tm.expect("Do you agree to these terms?")
	tm.send(keyLeft, keyEnter)
	tm.expect("Sign up through Amazon or Canon?")
	tm.send(keyEnter)
	tm.expect("Is this your printer?")
	tm.expect("Model: TS9521C (reports itself as TS9500 series)")
	tm.expect("****0091")
	tm.send(keyEnter)
	tm.expect("Enrolled TS9521C")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tm.text())
	}

	ts5300 := startSim(t, printersim.Config{Make: "Canon", Model: "TS5300 series", Name: "Canon TS5300 series", Serial: "KNMA00092"})
	tm = startTerm(t, e.env, "register", "--host", ts5300)
	tm.expect("Do you agree to these terms?")
	tm.send(keyLeft, keyEnter)
	tm.expect("Sign up through Amazon or Canon?")
	tm.send(keyEnter)
	tm.expect("Model: TS5320 (reports itself as TS5300 series)")
	tm.expect("****0092")
	tm.send(keyEnter)
	tm.expect("Enrolled TS5320")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tm.text())
	}
	if out := tm.text(); strings.Contains(out, "Which model") {
		t.Errorf("a series of one model asked which model:\n%s", out)
	}

	got := map[string]string{}
	for _, en := range e.enrollments(t) {
		got[en.Printer.Serial] = en.Printer.Model + "/" + en.Printer.Series
	}
	if got["KNMA00091"] != "TS9521C/TS9500 series" || got["KNMA00092"] != "TS5320/TS5300 series" {
		t.Fatalf("enrollments: %v", got)
	}
}

func TestRegisterCtrlCPTY(t *testing.T) {
	e := newPTYEnv(t)
	for i := range registerSteps {
		t.Run(registerSteps[i].prompt[0], func(t *testing.T) {
			tm := startTerm(t, e.env, "register", "--host", e.hosts[0], "--host", e.hosts[1])
			for _, s := range registerSteps[:i] {
				tm.expect(s.prompt[0])
				tm.send(s.keys...)
			}
			tm.expect(registerSteps[i].prompt[0])
			tm.send(keyCtrlC)
			if code := tm.wait(); code != 5 {
				t.Fatalf("exit %d, want 5; output:\n%s", code, tm.text())
			}
			if es := e.enrollments(t); len(es) != 0 {
				t.Fatalf("enrollments = %+v", es)
			}
		})
	}
}

// Declining the terms ("Decline" is the default: Enter) exits 5.
func TestRegisterDeclinePTY(t *testing.T) {
	e := newPTYEnv(t)
	tm := startTerm(t, e.env, "register", "--host", e.hosts[0])
	tm.expect("Do you agree to these terms?")
	tm.send(keyEnter)
	if code := tm.wait(); code != 5 {
		t.Fatalf("exit %d, want 5; output:\n%s", code, tm.text())
	}
	// The message says it all: no extra "cancelled" line after it.
	if out := tm.text(); !strings.Contains(out, "You did not agree to the terms; nothing was enrolled.") || strings.Contains(out, "\ncancelled") {
		t.Errorf("output:\n%s", out)
	}
	if es := e.enrollments(t); len(es) != 0 {
		t.Fatalf("enrollments = %+v", es)
	}
}

// Not signed in: register runs the sign-in (device code, as over SSH),
// which the owner approves in a browser, keeps the token, and enrolls.
func TestRegisterSignInPTY(t *testing.T) {
	e := newPTYEnv(t)
	var env []string
	for _, kv := range e.env {
		if !strings.HasPrefix(kv, "ARS_TOKEN=") {
			env = append(env, kv)
		}
	}
	tm := startTerm(t, env, "register", "--host", e.hosts[0])
	tm.expect("Do you agree to these terms?")
	tm.send(keyLeft, keyEnter)
	tm.expect("Sign up through Amazon or Canon?")
	tm.send(keyEnter)
	tm.expect("Is this your printer?")
	tm.send(keyEnter)
	tm.expect("(or open ")
	tm.expect(")")
	txt := tm.text()
	i := strings.LastIndex(txt, "(or open ")
	verify := strings.TrimSpace(txt[i+len("(or open ") : i+strings.Index(txt[i:], ")")])
	if err := oauthtest.ApproveDevice(context.Background(), &http.Client{}, verify, "owner@example.com", Password, true); err != nil {
		t.Fatalf("approve %q: %v", verify, err)
	}
	tm.expect("Enrolled TS8320")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tm.text())
	}
	if es := e.enrollments(t); len(es) != 1 || es[0].State != arsapi.StateActive {
		t.Fatalf("enrollments = %+v", es)
	}
	// The token was kept: status works without signing in again.
	cmd := exec.Command("arsctl", "status", "--jq", ".[].state")
	cmd.Env = env
	got, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "active" {
		t.Fatalf("status after sign-in: %s, %v", got, err)
	}
}

// The interactive path of `arsctl cancel`: choose the printer, pick
// "Other" among the reasons, which needs a few words (an empty answer is
// refused), and confirm.
func TestCancelInteractivePTY(t *testing.T) {
	e := newPTYEnv(t)
	ctx := context.Background()
	enr, err := e.client.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{Provider: "canon", Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA00083"}, TermsVersion: "2026-01"}, "")
	if err != nil {
		t.Fatal(err)
	}
	tm := startTerm(t, e.env, "cancel")
	tm.expect("Which printer's plan do you want to cancel?")
	tm.expect("****0083")
	tm.send(keyEnter)
	tm.expect("Why are you cancelling?")
	tm.expect("Other")
	tm.send(keyDown, keyDown, keyDown, keyDown, keyDown, " ", keyEnter)
	tm.expect(`Tell us more ("Other" needs a few words)`)
	tm.send(keyEnter)
	tm.expect("please say what it is")
	tm.send("moving abroad", keyEnter)
	tm.expect("Cancel the plan for TS8320, serial ****0083?")
	tm.send("y")
	tm.expect("Cancelled the plan")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tm.text())
	}
	got, err := e.client.GetEnrollment(ctx, enr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != arsapi.StateCancelled || got.Cancellation == nil || strings.Join(got.Cancellation.Reasons, ",") != "other" || got.Cancellation.Comment != "moving abroad" {
		t.Fatalf("after cancel: %+v", got)
	}
	if strings.Contains(tm.text(), "KNMA00083") {
		t.Errorf("the full serial was shown:\n%s", tm.text())
	}
}
