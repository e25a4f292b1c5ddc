package login

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/signin"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func TestNewCmdLogin(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}}
	for _, tt := range []struct {
		args string
		want func(*Options) bool
		exit int
	}{
		{"", func(o *Options) bool { return o.Mode == signin.Mode{} && !o.WithToken && o.Timeout > 0 }, 0},
		{"--device", func(o *Options) bool { return o.Mode.Device }, 0},
		{"--web --no-browser --timeout 1m", func(o *Options) bool { return o.Mode.Web && o.Mode.NoBrowser && o.Timeout.Minutes() == 1 }, 0},
		{"--with-token", func(o *Options) bool { return o.WithToken }, 0},
		{"--device --web", nil, cmdutil.ExitUsage},
		{"--with-token --device", nil, cmdutil.ExitUsage},
	} {
		var got *Options
		cmd := NewCmdLogin(f, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(tt.args))
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if code := cmdutil.ExitCode(err); code != tt.exit {
			t.Errorf("%q: exit %d (%v), want %d", tt.args, code, err, tt.exit)
			continue
		}
		if tt.want != nil && (got == nil || !tt.want(got)) {
			t.Errorf("%q: options %+v", tt.args, got)
		}
	}
}

func newOpts(t *testing.T) (*Options, auth.Store) {
	ios, _, _, _ := iostreams.Test()
	store := &auth.FileStore{Path: filepath.Join(t.TempDir(), "tokens.json")}
	return &Options{
		IO:         ios,
		ServerURL:  func() (string, error) { return "http://ars.test", nil },
		TokenStore: func() auth.Store { return store },
		Account: func(_ context.Context, server string, tok *oauth2.Token) (arsapi.Account, error) {
			if tok.AccessToken != "good" {
				return arsapi.Account{}, &arsapi.Problem{Status: 401, Detail: "refused"}
			}
			return arsapi.Account{ID: "a1", Email: "owner@example.com"}, nil
		},
		Timeout: 10e9,
	}, store
}

func TestLoginRunStoresTheCheckedToken(t *testing.T) {
	opts, store := newOpts(t)
	var mode signin.Mode
	opts.SignIn = func(_ context.Context, server string, m signin.Mode) (*oauth2.Token, error) {
		mode = m
		return &oauth2.Token{AccessToken: "good", RefreshToken: "r"}, nil
	}
	opts.Mode = signin.Mode{Device: true}
	if err := loginRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !mode.Device {
		t.Errorf("the flow ran in mode %+v", mode)
	}
	if tok, err := store.Load("http://ars.test"); err != nil || tok.RefreshToken != "r" {
		t.Errorf("stored %+v, %v", tok, err)
	}
	if got := opts.IO.ErrOut.(interface{ String() string }).String(); !strings.Contains(got, "Signed in to http://ars.test as owner@example.com") {
		t.Errorf("stderr %q", got)
	}
}

func TestLoginRunWithToken(t *testing.T) {
	opts, store := newOpts(t)
	opts.SignIn = func(context.Context, string, signin.Mode) (*oauth2.Token, error) {
		t.Error("--with-token ran the sign-in flow")
		return nil, errors.New("no")
	}
	opts.WithToken = true
	in := opts.IO.In.(interface{ WriteString(string) (int, error) })

	// A token the server refuses is not stored.
	_, _ = in.WriteString("bad\n")
	if err := loginRun(context.Background(), opts); cmdutil.ExitCode(err) != cmdutil.ExitAuth {
		t.Errorf("refused token: %v (exit %d)", err, cmdutil.ExitCode(err))
	}
	if _, err := store.Load("http://ars.test"); !errors.Is(err, auth.ErrNoToken) {
		t.Errorf("a refused token was stored (%v)", err)
	}
	// Nothing on stdin is a usage error.
	if err := loginRun(context.Background(), opts); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("empty stdin: %v", err)
	}
	_, _ = in.WriteString("  good  \n")
	if err := loginRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if tok, err := store.Load("http://ars.test"); err != nil || tok.AccessToken != "good" {
		t.Errorf("stored %+v, %v", tok, err)
	}
}
