package version

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
)

func TestNewCmdVersion(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}, Version: "1.2.3"}
	var got *Options
	cmd := NewCmdVersion(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Version != "1.2.3" || got.IO != ios || got.BuildInfo == nil {
		t.Errorf("options %+v", got)
	}
	cmd = NewCmdVersion(f, func(*Options) error { return nil })
	cmd.SetArgs([]string{"extra"})
	cmd.SetErr(&strings.Builder{})
	if err := cmd.Execute(); err == nil {
		t.Error("an argument was accepted")
	}
}

func TestVersionRun(t *testing.T) {
	bi := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}}, true
	}
	ios, _, out, _ := iostreams.Test()
	if err := versionRun(&Options{IO: ios, Output: &cmdutil.OutputOptions{}, Version: "1.2.3", BuildInfo: bi}); err != nil {
		t.Fatal(err)
	}
	if want := "arsctl 1.2.3 (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	if err := versionRun(&Options{IO: ios, Output: &cmdutil.OutputOptions{JSON: true}, Version: "1.2.3", BuildInfo: bi}); err != nil {
		t.Fatal(err)
	}
	var info Info
	if err := json.Unmarshal(out.Bytes(), &info); err != nil || info.Version != "1.2.3" || info.Commit != "abc123" {
		t.Errorf("--json: %q (%v)", out.String(), err)
	}
}
