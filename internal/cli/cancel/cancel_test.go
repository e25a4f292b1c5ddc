package cancel

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/prompt"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func TestNewCmdCancelFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}, Getenv: func(string) string { return "" },
		Config: func() (*config.Config, error) { return &config.Config{}, nil }}
	var got *CancelOptions
	cmd := NewCmdCancel(f, func(o *CancelOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"E1", "--reason", "too-expensive", "-r", "other", "--comment", "moving", "--yes"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Target != "E1" || strings.Join(got.Reasons, ",") != "too-expensive,other" || got.Comment != "moving" || !got.Yes {
		t.Fatalf("options = %+v", got)
	}
}

type fixture struct {
	c    *arsapi.Client
	opts *CancelOptions
	pr   *clitest.Prompter
	out  *bytes.Buffer
	err  *bytes.Buffer
}

func newFixture(t *testing.T, tty bool) *fixture {
	api := clitest.StartAPI(t)
	c := api.Client(api.Account(t, "owner@example.com"))
	ios, _, out, errOut := iostreams.Test()
	ios.SetTTY(tty)
	pr := &clitest.Prompter{T: t}
	return &fixture{c: c, pr: pr, out: out, err: errOut, opts: &CancelOptions{
		IO: ios, Prompter: pr, Output: &cmdutil.OutputOptions{},
		Client: func(context.Context) (*arsapi.Client, error) { return c, nil },
	}}
}

func (fx *fixture) enroll(t *testing.T, serial string) arsapi.Enrollment {
	e, err := fx.c.CreateEnrollment(context.Background(), arsapi.CreateEnrollmentRequest{Provider: "canon", Printer: arsapi.Printer{Model: "TS8320", Serial: serial}, TermsVersion: "2026-01"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (fx *fixture) state(t *testing.T, id string) arsapi.Enrollment {
	e, err := fx.c.GetEnrollment(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCancelNonInteractive(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, false)
	e := fx.enroll(t, clitest.Serial(1))

	fx.opts.Target = clitest.Serial(1)
	err := cancelRun(ctx, fx.opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--reason") || !strings.Contains(err.Error(), "printing-less") {
		t.Fatalf("no reason: %v", err)
	}
	fx.opts.Reasons = []string{"no-such-reason"}
	if err := cancelRun(ctx, fx.opts); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "too-expensive") {
		t.Fatalf("unknown reason: %v", err)
	}
	// "other" needs a few words; without a terminal that is --comment.
	fx.opts.Reasons, fx.opts.Yes = []string{"other"}, true
	if err := cancelRun(ctx, fx.opts); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--reason other needs --comment") {
		t.Fatalf("other without a comment: %v", err)
	}
	fx.opts.Yes = false
	fx.opts.Reasons = []string{"printing-less"}
	if err := cancelRun(ctx, fx.opts); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("no --yes: %v", err)
	}
	if got := fx.state(t, e.ID); got.State != arsapi.StateActive {
		t.Fatalf("cancelled without confirmation: %+v", got)
	}

	fx.opts.Yes = true
	if err := cancelRun(ctx, fx.opts); err != nil {
		t.Fatal(err)
	}
	got := fx.state(t, e.ID)
	if got.State != arsapi.StateCancelled || got.Cancellation == nil || got.Cancellation.Reasons[0] != "printing-less" {
		t.Fatalf("after cancel: %+v", got)
	}
	if !strings.HasPrefix(fx.out.String(), e.ID+"\tcancelled") {
		t.Errorf("stdout = %q", fx.out)
	}

	// Again, by enrollment ID: already cancelled is not an error.
	fx.out.Reset()
	fx.opts.Target = e.ID
	if err := cancelRun(ctx, fx.opts); err != nil || !strings.Contains(fx.err.String(), "already cancelled") {
		t.Fatalf("twice: %v\n%s", err, fx.err)
	}

	fx.opts.Target = "nothing"
	if err := cancelRun(ctx, fx.opts); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Fatalf("unknown: %v", err)
	}
	fx.opts.Target = ""
	if err := cancelRun(ctx, fx.opts); cmdutil.ExitCode(err) != cmdutil.ExitNotFound || !strings.Contains(err.Error(), "arsctl status --all") {
		t.Fatalf("nothing live: %v", err)
	}

	// By the start of its ID, as the status table shows it.
	e2 := fx.enroll(t, clitest.Serial(2))
	fx.opts.Target = resolve.ShortID(e2.ID, resolve.ShortIDLen([]string{e.ID, e2.ID}))
	if err := cancelRun(ctx, fx.opts); err != nil {
		t.Fatalf("cancel %s: %v", fx.opts.Target, err)
	}
	if got := fx.state(t, e2.ID); got.State != arsapi.StateCancelled {
		t.Fatalf("cancel by short ID: %+v", got)
	}
}

func TestCancelInteractive(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, true)
	fx.enroll(t, clitest.Serial(1))
	e := fx.enroll(t, clitest.Serial(2))

	// "Keep plan" exits 5 and changes nothing.
	fx.pr.Answers = []clitest.Answer{
		{Title: "Which printer", Value: e.ID},
		{Title: "Why are you cancelling", Values: []string{"too-expensive", "other"}},
		{Title: "Tell us more", Value: "moving abroad"},
		{Title: "Cancel the plan", Yes: false},
	}
	if err := cancelRun(ctx, fx.opts); cmdutil.ExitCode(err) != cmdutil.ExitCancelled {
		t.Fatalf("keep: %v", err)
	}
	fx.pr.Done()
	// The printers are offered with the provider's name as register says
	// it ("with Canon"), not the API's "canon".
	if len(fx.pr.Offered) == 0 || !strings.Contains(strings.Join(fx.pr.Offered[0], "\n"), "with Canon (active)") {
		t.Errorf("printers offered: %q", fx.pr.Offered)
	}
	if got := fx.state(t, e.ID); got.State != arsapi.StateActive {
		t.Fatalf("kept plan was cancelled: %+v", got)
	}

	// Ctrl-C at the reasons.
	fx.pr.Answers = []clitest.Answer{{Title: "Which printer", Value: e.ID}, {Title: "Why", Err: prompt.ErrAborted}}
	if err := cancelRun(ctx, fx.opts); cmdutil.ExitCode(err) != cmdutil.ExitCancelled {
		t.Fatalf("ctrl-c: %v", err)
	}

	fx.pr.Answers = []clitest.Answer{
		{Title: "Which printer", Value: e.ID},
		{Title: "Why are you cancelling", Values: []string{"too-expensive", "other"}},
		{Title: "Tell us more", Value: "moving abroad"},
		{Title: "Cancel the plan", Yes: true},
	}
	if err := cancelRun(ctx, fx.opts); err != nil {
		t.Fatal(err)
	}
	fx.pr.Done()
	got := fx.state(t, e.ID)
	if got.State != arsapi.StateCancelled || strings.Join(got.Cancellation.Reasons, ",") != "too-expensive,other" || got.Cancellation.Comment != "moving abroad" {
		t.Fatalf("after cancel: %+v", got)
	}
	// On a terminal the result is the success line on stderr, with no
	// tab-separated copy on stdout.
	if fx.out.Len() != 0 || !strings.Contains(fx.err.String(), "Cancelled the plan") {
		t.Errorf("stdout %q, stderr %q", fx.out, fx.err)
	}
}
