package token

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]int{"90d": 90, "90": 90, "12w": 84, "1y": 365, "never": 0, "0": 0, "3650d": 3650, " 7D ": 7} {
		if got, err := ParseExpiry(in); err != nil || got != want {
			t.Errorf("ParseExpiry(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-3d", "3651d", "11y", "90m", "1.5d", "soon"} {
		if _, err := ParseExpiry(in); err == nil {
			t.Errorf("ParseExpiry(%q) accepted", in)
		}
	}
}

func TestNewCmdTokenFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}}
	for _, tt := range []struct {
		args string
		want func(*Options) bool
		exit int
	}{
		{"", func(o *Options) bool { return o.Name == "" && len(o.Tokens) == 0 }, 0},
		{"create --name ci", func(o *Options) bool { return o.Name == "ci" && o.ExpiresDays == 0 }, 0},
		{"create --name ci --expires 90d", func(o *Options) bool { return o.ExpiresDays == 90 }, 0},
		{"create --name ci --expires 2w", func(o *Options) bool { return o.ExpiresDays == 14 }, 0},
		{"create", nil, cmdutil.ExitUsage},
		{"create --name ci --expires forever", nil, cmdutil.ExitUsage},
		{"list", func(o *Options) bool { return true }, 0},
		{"revoke a b", func(o *Options) bool { return strings.Join(o.Tokens, ",") == "a,b" }, 0},
		{"revoke", nil, cmdutil.ExitUsage},
	} {
		var got *Options
		cmd := NewCmdToken(f, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(tt.args))
		cmd.SetErr(&strings.Builder{})
		cmd.SetOut(&strings.Builder{})
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

// fakeClient keeps tokens like the server does.
type fakeClient struct {
	tokens  []arsapi.APIToken
	revoked []string
	created []arsapi.CreateAPITokenRequest
	deny    bool // answer 403 as to an API token
	secret  string
}

func (c *fakeClient) CreateAPIToken(_ context.Context, req arsapi.CreateAPITokenRequest) (arsapi.CreatedAPIToken, error) {
	if c.deny {
		return arsapi.CreatedAPIToken{}, &arsapi.Problem{Status: http.StatusForbidden, Code: arsapi.CodeForbidden, Detail: "API tokens cannot manage API tokens"}
	}
	c.created = append(c.created, req)
	t := arsapi.APIToken{ID: "t9", Name: req.Name, Hint: "wxyz", CreatedAt: time.Now()}
	if req.ExpiresInDays > 0 {
		t.ExpiresAt = time.Date(2027, 3, 4, 12, 0, 0, 0, time.UTC)
	}
	secret := "ars_pat_secretsecretwxyz"
	if c.secret != "" {
		secret = c.secret
	}
	return arsapi.CreatedAPIToken{APIToken: t, Token: secret}, nil
}

func (c *fakeClient) APITokens(context.Context) ([]arsapi.APIToken, error) {
	return c.tokens, nil
}

func (c *fakeClient) RevokeAPIToken(_ context.Context, id string) error {
	c.revoked = append(c.revoked, id)
	return nil
}

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newOpts(c *fakeClient) (*Options, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := iostreams.Test()
	return &Options{
		IO:       ios,
		Output:   &cmdutil.OutputOptions{},
		Client:   func(context.Context) (Client, error) { return c, nil },
		EnvToken: func() bool { return false },
		Now:      func() time.Time { return now },
	}, out, errOut
}

func TestCreateRunSecretOnStdoutOnly(t *testing.T) {
	c := &fakeClient{}
	opts, out, errOut := newOpts(c)
	opts.Name, opts.ExpiresDays = "ci", 90
	if err := createRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ars_pat_secretsecretwxyz\n" {
		t.Errorf("stdout %q, want the token alone", out.String())
	}
	if strings.Contains(errOut.String(), "ars_pat_") || !strings.Contains(errOut.String(), `Created API token "ci" (ID t9, expires 2027-03-0`) {
		t.Errorf("stderr %q", errOut.String())
	}
	if len(c.created) != 1 || c.created[0] != (arsapi.CreateAPITokenRequest{Name: "ci", ExpiresInDays: 90}) {
		t.Errorf("requests %+v", c.created)
	}

	opts, out, _ = newOpts(c)
	opts.Output.JSON = true
	opts.Name = "deploy"
	if err := createRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var got arsapi.CreatedAPIToken
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.Token != "ars_pat_secretsecretwxyz" || got.ID != "t9" {
		t.Errorf("--json: %q (%v)", out.String(), err)
	}
}

func TestCreateRunWithAPITokenSaysWhy(t *testing.T) {
	opts, _, _ := newOpts(&fakeClient{deny: true})
	opts.Name = "ci"
	err := createRun(context.Background(), opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitAuth {
		t.Errorf("exit %d (%v)", cmdutil.ExitCode(err), err)
	}
	opts.EnvToken = func() bool { return true }
	err = createRun(context.Background(), opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitAuth || !strings.Contains(err.Error(), "only a sign-in can manage API tokens") {
		t.Errorf("with ARS_TOKEN: exit %d (%v)", cmdutil.ExitCode(err), err)
	}
}

func tokens() []arsapi.APIToken {
	return []arsapi.APIToken{
		{ID: "t1", Name: "ci", Hint: "aaaa", CreatedAt: now.Add(-48 * time.Hour), LastUsedAt: now.Add(-time.Hour)},
		{ID: "t2", Name: "old", Hint: "bbbb", CreatedAt: now.Add(-400 * 24 * time.Hour), ExpiresAt: now.Add(-24 * time.Hour)},
		{ID: "t3", Name: "ci", Hint: "cccc", CreatedAt: now.Add(-72 * time.Hour), RevokedAt: now.Add(-70 * time.Hour)},
		{ID: "t4", Name: "dup", Hint: "dddd", CreatedAt: now},
		{ID: "t5", Name: "dup", Hint: "eeee", CreatedAt: now},
	}
}

func TestListRun(t *testing.T) {
	opts, out, _ := newOpts(&fakeClient{tokens: tokens()})
	if err := listRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"t1\tci\t…aaaa\t2026-12-02T12:00:00Z\tnever\t2026-12-04T11:00:00Z\tactive",
		"t2\told\t…bbbb\t2025-10-30T12:00:00Z\t2026-12-03T12:00:00Z\tnever\texpired",
		"t3\tci\t…cccc\t2026-12-01T12:00:00Z\tnever\tnever\trevoked",
	}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Errorf("line %d = %q, want %q", i, lines[min(i, len(lines)-1)], w)
		}
	}
	opts, out, errOut := newOpts(&fakeClient{})
	opts.Output.JSON = true
	if err := listRun(context.Background(), opts); err != nil || strings.TrimSpace(out.String()) != "[]" || errOut.Len() != 0 {
		t.Errorf("empty --json: %q %q %v", out.String(), errOut.String(), err)
	}
}

func TestRevokeRun(t *testing.T) {
	for _, tt := range []struct {
		refs    []string
		revoked string
		exit    int
	}{
		{[]string{"t1"}, "t1", 0},
		{[]string{"ci"}, "t1", 0}, // the active one named ci, not the revoked one
		{[]string{"t3"}, "", 0},   // already revoked: nothing to do
		{[]string{"dup"}, "", cmdutil.ExitUsage},
		{[]string{"t1", "nosuch"}, "", cmdutil.ExitNotFound}, // nothing revoked when one is unknown
		{[]string{"old"}, "", cmdutil.ExitNotFound},          // expired: by ID only
		{[]string{"t4", "t5"}, "t4,t5", 0},
	} {
		c := &fakeClient{tokens: tokens()}
		opts, _, errOut := newOpts(c)
		opts.Tokens = tt.refs
		err := revokeRun(context.Background(), opts)
		if code := cmdutil.ExitCode(err); code != tt.exit {
			t.Errorf("%v: exit %d (%v), want %d", tt.refs, code, err, tt.exit)
		}
		if got := strings.Join(c.revoked, ","); got != tt.revoked {
			t.Errorf("%v: revoked %q, want %q (stderr %q)", tt.refs, got, tt.revoked, errOut.String())
		}
	}
}

// TestCreateRunRefusesATokenThatIsNotOne: the secret goes raw to stdout,
// so a server answering one with escape sequences could act on the
// terminal (clear it, retitle it, add a link); such an answer is an error
// and nothing is printed.
func TestCreateRunRefusesATokenThatIsNotOne(t *testing.T) {
	for _, secret := range []string{"ars_pat_x\x1b]8;;http://evil\x1b\\X", "ars_pat_x\r\nFAKE", "ars_pat x", "ars_pat_\u202e"} {
		for _, json := range []bool{false, true} {
			opts, out, errOut := newOpts(&fakeClient{secret: secret})
			opts.Output.JSON = json
			opts.Name = "ci"
			err := createRun(context.Background(), opts)
			if err == nil || out.Len() > 0 || strings.Contains(errOut.String(), "ars_pat") {
				t.Errorf("token %q (--json %v): err %v, stdout %q, stderr %q", secret, json, err, out.String(), errOut.String())
			}
		}
	}
	for _, secret := range []string{"ars_pat_AZaz09-._~+/", "abc==", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"} {
		if err := checkBearer(secret); err != nil {
			t.Errorf("checkBearer(%q) = %v, want nil", secret, err)
		}
	}
}

// TestListRunFitsAnEightyColumnTerminal: at 80 columns the dates were cut
// to "2026-…" beside a whole 36-character ID; the creation date (then the
// last use) is left out instead, and the expiry stays whole.
func TestListRunFitsAnEightyColumnTerminal(t *testing.T) {
	list := []arsapi.APIToken{{ID: "01a2430d-dfb7-7275-be32-d7db7f726202", Name: "ci", Hint: "f9Ow",
		CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(90 * 24 * time.Hour)}}
	opts, out, _ := newOpts(&fakeClient{tokens: list})
	opts.IO.SetTTY(true)
	opts.IO.SetTerminalWidth(80)
	if err := listRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "…\t") || strings.Contains(out.String(), "-… ") || !strings.Contains(out.String(), day(now.Add(90*24*time.Hour))) {
		t.Errorf("expiry cut at 80 columns:\n%s", out.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if tableprinter.Width(l) > 80 {
			t.Errorf("line wider than 80 cells: %q", l)
		}
	}
}
