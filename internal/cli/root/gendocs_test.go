package root

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cli/gendocs"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
)

func genMan(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	ios, _, out, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}, Version: "1.4.0",
		Getenv: func(k string) string { return env[k] },
		Config: func() (*config.Config, error) { return &config.Config{}, nil }}
	cmd := NewCmdRoot(f)
	cmd.AddCommand(gendocs.NewCmdGenDocs(f, nil))
	cmd.SetArgs([]string{"gen-docs", "--man", dir})
	cmd.SetOut(out)
	cmd.SetErr(out)
	return dir, cmd.Execute()
}

var thLine = regexp.MustCompile(`(?m)^\.TH "([^"]*)" "1" "([^"]*)" "([^"]*)"`)

// TestManPages: each page is titled with its own command, dated by
// SOURCE_DATE_EPOCH (the same files twice), and carries the version.
func TestManPages(t *testing.T) {
	env := map[string]string{"SOURCE_DATE_EPOCH": "1764806400"} // 2025-12-04
	dir, err := genMan(t, env)
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	if len(pages) < 10 {
		t.Fatalf("%d pages", len(pages))
	}
	again, err := genMan(t, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		m := thLine.FindSubmatch(b)
		name := strings.TrimSuffix(filepath.Base(p), ".1")
		want := strings.ToUpper(name)
		if m == nil || strings.ReplaceAll(string(m[1]), `\-`, "-") != want || string(m[2]) != "Dec 2025" || string(m[3]) != "arsctl 1.4.0" {
			t.Errorf("%s: .TH %q, want title %s, date Dec 2025, arsctl 1.4.0", filepath.Base(p), m, want)
		}
		b2, err := os.ReadFile(filepath.Join(again, filepath.Base(p)))
		if err != nil || !bytes.Equal(b, b2) {
			t.Errorf("%s differs between two runs", filepath.Base(p))
		}
	}
	// Without SOURCE_DATE_EPOCH, a test binary has no commit date: a
	// clear error instead of today's date.
	if _, err := genMan(t, map[string]string{}); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("undated: %v", err)
	}
}

// TestManNumberedList: register's steps are a numbered list in which
// each step is one paragraph (an indented continuation line used to
// start a roff line with a space, breaking the step in two), and the exit
// code table of arsctl(1) stays a table apart from the next paragraph.
func TestManNumberedList(t *testing.T) {
	dir, err := genMan(t, map[string]string{"SOURCE_DATE_EPOCH": "1764806400"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "arsctl-register.1"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	for i := 1; i <= 5; i++ {
		if !strings.Contains(src, `.IP "  `+string(rune('0'+i))+`." 5`) {
			t.Errorf("step %d is not a numbered item:\n%s", i, src)
		}
	}
	if strings.Contains(src, "\n still prints") || !strings.Contains(src, "without a prompt, and still prints") {
		t.Errorf("step 3 is broken in two:\n%s", src)
	}
	man, err := exec.LookPath("man")
	if err != nil {
		t.Log("no man(1) here: the rendered page is not checked")
		return
	}
	cmd := exec.Command(man, "-l", filepath.Join(dir, "arsctl-register.1"))
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l: %v", err)
	}
	// man breaks words at line ends with a hyphen (U+2010) and renders -
	// as one too, or as a minus (U+2212), and ' as ’ in a UTF-8 locale.
	plain := regexp.MustCompile("\u2010\n\\s*").ReplaceAllString(string(out), "")
	plain = strings.NewReplacer("\u2010", "-", "\u2212", "-", "\u2019", "'").Replace(plain)
	text := strings.Join(strings.Fields(plain), " ")
	for _, want := range []string{
		"ARSCTL-REGISTER(1)",
		"1. find printers on the network (mDNS), or ask the one at --host directly;",
		"3. read the terms and agree (--agree-terms agrees without a prompt, and still prints the terms' title, version and About this service URL);",
		"5. canon: confirm the model and serial (--yes), sign in or create an account; amazon: sign in",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("man -l lacks %q:\n%s", want, out)
		}
	}
	root, err := os.ReadFile(filepath.Join(dir, "arsctl.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`5  cancelled by the user\n(\.fi|\.EE)`).Match(root) {
		t.Errorf("arsctl.1: the exit codes are not a block of their own:\n%s", root)
	}
}

// TestManPagesInRepoUpToDate: docs/man is what gen-docs writes from the
// command tree (scripts/completions.sh), apart from each page's date and
// version. It had no page for `orders settings` and an older register
// text, so `man -l docs/man/*.1` described commands that had changed.
func TestManPagesInRepoUpToDate(t *testing.T) {
	dir, err := genMan(t, map[string]string{"SOURCE_DATE_EPOCH": "1764806400"})
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join("..", "..", "..", "docs", "man")
	want, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	have, _ := filepath.Glob(filepath.Join(repo, "*.1"))
	if len(have) != len(want) {
		t.Errorf("docs/man has %d pages, gen-docs writes %d: run scripts/completions.sh", len(have), len(want))
	}
	for _, p := range want {
		b, _ := os.ReadFile(p)
		r, err := os.ReadFile(filepath.Join(repo, filepath.Base(p)))
		if err != nil {
			t.Errorf("docs/man/%s missing: run scripts/completions.sh", filepath.Base(p))
			continue
		}
		if thLine.ReplaceAllString(string(b), "") != thLine.ReplaceAllString(string(r), "") {
			t.Errorf("docs/man/%s differs from what gen-docs writes: run scripts/completions.sh", filepath.Base(p))
		}
	}
}
