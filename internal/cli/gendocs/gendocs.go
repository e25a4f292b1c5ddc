// Package gendocs implements the hidden gen-docs command that writes
// arsctl's man pages (and Markdown) from its command tree, for packaging.
// It is not part of the arsctl binary: cmd/arsctl-docs is arsctl with
// this command added.
package gendocs

import (
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
)

// Options are the inputs of `arsctl gen-docs`.
type Options struct {
	// Root is the command tree to document.
	Root *cobra.Command
	// Version is the build version, shown in each man page's footer.
	Version string
	// Getenv reads SOURCE_DATE_EPOCH.
	Getenv config.Env
	// BuildInfo reads the binary's build information, for the date of
	// the commit it was built from (debug.ReadBuildInfo).
	BuildInfo func() (*debug.BuildInfo, bool)

	ManDir      string
	MarkdownDir string
}

// NewCmdGenDocs returns the hidden gen-docs command. runF replaces the
// command's behaviour in tests.
func NewCmdGenDocs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Version: f.Version, Getenv: f.Getenv, BuildInfo: debug.ReadBuildInfo}
	cmd := &cobra.Command{
		Use:   "gen-docs",
		Short: "Write man pages and Markdown reference from the command tree",
		Long: `Write one man page per command (arsctl.1, arsctl-register.1, ...), each
titled with its command, and the same reference in Markdown.

The pages are dated by the release, so that building them twice gives the
same files: SOURCE_DATE_EPOCH (seconds since 1970) when set, else the
date of the commit the binary was built from.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		Example: `  go build -o arsctl-docs ./internal/cli/gendocs/cmd/arsctl-docs
  ./arsctl-docs gen-docs --man docs/man
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) ./arsctl-docs gen-docs --man docs/man
  ./arsctl-docs gen-docs --markdown docs/reference`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.ManDir == "" && opts.MarkdownDir == "" {
				return cmdutil.FlagErrorf("give --man DIR and/or --markdown DIR")
			}
			opts.Root = cmd.Root()
			if runF != nil {
				return runF(opts)
			}
			return genDocsRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.ManDir, "man", "", "Write man pages to `DIR`")
	cmd.Flags().StringVar(&opts.MarkdownDir, "markdown", "", "Write Markdown pages to `DIR`")
	return cmd
}

// releaseDate is SOURCE_DATE_EPOCH, else the time of the commit the
// binary was built from.
func releaseDate(opts *Options) (time.Time, error) {
	if opts.Getenv != nil {
		if v := opts.Getenv("SOURCE_DATE_EPOCH"); v != "" {
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return time.Time{}, cmdutil.FlagErrorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", v)
			}
			return time.Unix(sec, 0).UTC(), nil
		}
	}
	if bi, ok := opts.BuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return t.UTC(), nil
				}
			}
		}
	}
	return time.Time{}, cmdutil.FlagErrorf("cannot date the pages: this binary does not say when its commit was made (go run); set SOURCE_DATE_EPOCH, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%%ct)")
}

func genDocsRun(opts *Options) error {
	root := opts.Root
	root.DisableAutoGenTag = true
	if opts.ManDir != "" {
		date, err := releaseDate(opts)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(opts.ManDir, 0o755); err != nil {
			return err
		}
		// The Long texts are written for a terminal; the man pages read
		// them as Markdown.
		restore := rewriteLong(root, manMarkdown)
		defer restore()
		// No Title: each page gets its own command's (ARSCTL-REGISTER).
		hdr := &doc.GenManHeader{Section: "1", Date: &date, Source: "arsctl " + opts.Version, Manual: "arsctl manual"}
		if err := doc.GenManTree(root, hdr, opts.ManDir); err != nil {
			return fmt.Errorf("man pages: %w", err)
		}
		restore()
	}
	if opts.MarkdownDir != "" {
		if err := os.MkdirAll(opts.MarkdownDir, 0o755); err != nil {
			return err
		}
		if err := doc.GenMarkdownTree(root, opts.MarkdownDir); err != nil {
			return fmt.Errorf("markdown: %w", err)
		}
	}
	return nil
}

// rewriteLong replaces the Long text of every command of the tree with
// fn's rewrite of it, and returns a function that puts the texts back.
func rewriteLong(root *cobra.Command, fn func(string) string) (restore func()) {
	saved := map[*cobra.Command]string{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		saved[c] = c.Long
		c.Long = fn(c.Long)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return func() {
		for c, l := range saved {
			c.Long = l
		}
	}
}

var (
	numbered = regexp.MustCompile(`^(\s*)(\d+)\.\s+(.*)$`)
	bulleted = regexp.MustCompile(`^(\s*)-\s+(.*)$`)
)

// manMarkdown turns a help text laid out for a terminal into the
// Markdown the man page generator reads: a numbered or bulleted item,
// with the indented lines that continue it, becomes one list item (an
// indented continuation line would start a roff line with a space, which
// breaks the paragraph there); other indented lines (tables of settings
// or exit codes) become preformatted blocks, kept as they are; every
// block is set apart by a blank line.
func manMarkdown(long string) string {
	var out []string
	blank := func() {
		if len(out) > 0 && out[len(out)-1] != "" {
			out = append(out, "")
		}
	}
	lines := strings.Split(long, "\n")
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.TrimSpace(l) == "":
			blank()
		case numbered.MatchString(l) || bulleted.MatchString(l):
			var item string
			if m := numbered.FindStringSubmatch(l); m != nil {
				item = m[2] + ". " + m[3]
			} else {
				item = "- " + bulleted.FindStringSubmatch(l)[2]
			}
			// Continuation lines are indented more than the item's mark.
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && indent(lines[i+1]) > indent(l) &&
				!numbered.MatchString(lines[i+1]) && !bulleted.MatchString(lines[i+1]) {
				i++
				item += " " + strings.TrimSpace(lines[i])
			}
			if len(out) > 0 && out[len(out)-1] != "" && !isItem(out[len(out)-1]) {
				blank()
			}
			out = append(out, item)
		case indent(l) > 0:
			blank()
			out = append(out, "```")
			for ; i < len(lines) && indent(lines[i]) > 0 && strings.TrimSpace(lines[i]) != ""; i++ {
				out = append(out, lines[i])
			}
			i--
			out = append(out, "```", "")
		default:
			if len(out) > 0 && isItem(out[len(out)-1]) {
				blank()
			}
			out = append(out, l)
		}
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// isItem reports whether a Markdown line is a list item.
func isItem(l string) bool {
	return strings.HasPrefix(l, "- ") || numbered.MatchString(l) && !strings.HasPrefix(l, " ")
}
