// Package configcmd implements `arsctl config get|set|list|path`.
package configcmd

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cli/complete"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/provider"
	"github.com/arsctl/arsctl/pkg/snmp"
)

// key is one configuration setting.
type key struct {
	help     string
	get      func(*config.Config) string
	set      func(*config.Config, string)
	validate func(string) error
	secret   bool // get shows only whether it is set; "-" reads it from stdin
	// choices are the values the setting takes, when they are few
	// (offered by shell completion).
	choices []string
}

// snmpKey is a setting of config.SNMP.
func snmpKey(help string, field func(*config.SNMP) *string, secret bool, choices []string) key {
	return key{
		help:    help,
		secret:  secret,
		choices: choices,
		get: func(c *config.Config) string {
			v := *field(&c.SNMP)
			if secret && v != "" {
				return "(set)"
			}
			return v
		},
		set: func(c *config.Config, v string) {
			if choices != nil {
				v = strings.ToUpper(v)
			}
			*field(&c.SNMP) = v
		},
		validate: func(v string) error {
			if v != "" && choices != nil && !slices.Contains(choices, strings.ToUpper(v)) {
				return fmt.Errorf("want one of %s", strings.Join(choices, ", "))
			}
			return nil
		},
	}
}

var keys = map[string]key{
	"snmp.community": snmpKey("SNMP v2c community for printers (ARS_SNMP_COMMUNITY and --snmp-community override it)",
		func(c *config.SNMP) *string { return &c.Community }, true, nil),
	"snmp.user": snmpKey("SNMPv3 user (--snmp-user overrides it); SNMPv3 is used when set",
		func(c *config.SNMP) *string { return &c.User }, false, nil),
	"snmp.auth-protocol": snmpKey("SNMPv3 authentication protocol: "+strings.Join(snmp.AuthProtocols(), ", "),
		func(c *config.SNMP) *string { return &c.AuthProtocol }, false, snmp.AuthProtocols()),
	"snmp.auth-password": snmpKey("SNMPv3 authentication password (ARS_SNMP_AUTH_PASSWORD overrides it; \"-\" reads it from stdin)",
		func(c *config.SNMP) *string { return &c.AuthPassword }, true, nil),
	"snmp.priv-protocol": snmpKey("SNMPv3 privacy protocol: "+strings.Join(snmp.PrivProtocols(), ", "),
		func(c *config.SNMP) *string { return &c.PrivProtocol }, false, snmp.PrivProtocols()),
	"snmp.priv-password": snmpKey("SNMPv3 privacy password (ARS_SNMP_PRIV_PASSWORD overrides it; \"-\" reads it from stdin)",
		func(c *config.SNMP) *string { return &c.PrivPassword }, true, nil),
	"server": {
		help: "ARS API server URL (ARS_SERVER and --server override it)",
		get:  func(c *config.Config) string { return c.Server },
		set:  func(c *config.Config, v string) { c.Server = strings.TrimRight(v, "/") },
		validate: func(v string) error {
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("server must be an http:// or https:// URL, e.g. https://ars.example.com")
			}
			return nil
		},
	},
	"provider": {
		help:    "default provider for register: " + providerChoices() + " (ARS_PROVIDER overrides it)",
		get:     func(c *config.Config) string { return c.Provider },
		choices: provider.Names(),
		set:     func(c *config.Config, v string) { c.Provider = v },
		validate: func(v string) error {
			if v != "" && !slices.Contains(provider.Names(), v) {
				return fmt.Errorf("provider must be %s", providerChoices())
			}
			return nil
		},
	},
	"output": {
		help:    "default output: table or json (json is as if --json were always given)",
		get:     func(c *config.Config) string { return c.Output },
		choices: []string{"table", "json"},
		set:     func(c *config.Config, v string) { c.Output = v },
		validate: func(v string) error {
			if v != "" && v != "table" && v != "json" {
				return fmt.Errorf("output must be table or json")
			}
			return nil
		},
	},
}

// providerChoices lists the provider names for messages: "canon or amazon".
func providerChoices() string { return strings.Join(provider.Names(), " or ") }

func names() []string {
	var ns []string
	for n := range keys {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func lookup(name string) (key, error) {
	k, ok := keys[name]
	if !ok {
		return key{}, cmdutil.FlagErrorf("unknown setting %q; settings are: %s", name, strings.Join(names(), ", "))
	}
	return k, nil
}

// Options are the inputs of the config commands.
type Options struct {
	IO     *iostreams.IOStreams
	Output *cmdutil.OutputOptions
	// Config is the configuration in effect: the file, with the
	// environment's overrides.
	Config func() (*config.Config, error)
	// File loads the configuration file alone, without the environment's
	// overrides, for set to change and save (ARS_SERVER must not be
	// written into it).
	File func() (*config.Config, error)

	// Setting and Value are the arguments of get and set.
	Setting string
	Value   string
}

// NewCmdConfig returns the config command group. runF replaces each
// subcommand's behaviour in tests.
func NewCmdConfig(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config <command>",
		Short: "Show and change arsctl's settings",
		Long: `Show and change the settings in arsctl's configuration file
($XDG_CONFIG_HOME/arsctl/config.json, or ~/.config/arsctl/config.json).

Settings:
  server     ARS API server URL (ARS_SERVER and --server override it)
  provider   default provider for register: canon or amazon (ARS_PROVIDER
             overrides it)
  output     default output: table or json
  snmp.community, snmp.user, snmp.auth-protocol, snmp.auth-password,
  snmp.priv-protocol, snmp.priv-password
             SNMP credentials for printers (discover --subnet, and the SNMP
             fallback); passwords are shown only as (set), and "-" as the
             value reads a secret from standard input`,
		Example: `  arsctl config set server https://ars.example.com
  arsctl config set provider canon
  arsctl config get server
  arsctl config list --json
  arsctl config set server ""      # back to the default (a local arsd)
  arsctl config set snmp.user ars; arsctl config set snmp.auth-protocol SHA256
  printf %s "$PASS" | arsctl config set snmp.auth-password -`,
	}
	cmd.AddCommand(newCmdGet(f, runF), newCmdSet(f, runF), newCmdList(f, runF), newCmdPath(f, runF))
	return cmd
}

// completeSettings completes the setting of get and set, and the value of
// set when the setting takes one of a few.
func completeSettings(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var pairs []string
	switch {
	case len(args) == 0:
		for _, n := range names() {
			pairs = append(pairs, n, keys[n].help)
		}
	case len(args) == 1 && cmd.Name() == "set":
		for _, c := range keys[args[0]].choices {
			pairs = append(pairs, c, "")
		}
	}
	return complete.Values(pairs...)(cmd, args, toComplete)
}

func newOptions(f *cmdutil.Factory) *Options {
	return &Options{
		IO:     f.IOStreams,
		Output: f.Output,
		Config: f.Config,
		File: func() (*config.Config, error) {
			return config.Load(func(name string) string {
				if strings.HasPrefix(name, "ARS_") && name != "ARS_CONFIG_DIR" {
					return ""
				}
				return f.Getenv(name)
			})
		},
	}
}

func newCmdGet(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		ValidArgsFunction: completeSettings,
		Use:               "get <setting>",
		Short:             "Print one setting",
		Example:           "  arsctl config get server",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Setting = args[0]
			if _, err := lookup(opts.Setting); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return getRun(opts)
		},
	}
}

func getRun(opts *Options) error {
	k, err := lookup(opts.Setting)
	if err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, k.get(cfg))
	return err
}

func newCmdSet(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		ValidArgsFunction: completeSettings,
		Use:               "set <setting> <value>",
		Short:             "Change one setting",
		Example:           "  arsctl config set server https://ars.example.com",
		Args:              cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Setting, opts.Value = args[0], args[1]
			k, err := lookup(opts.Setting)
			if err != nil {
				return err
			}
			if k.secret && opts.Value == "-" {
				b, err := io.ReadAll(io.LimitReader(opts.IO.In, 4096))
				if err != nil {
					return err
				}
				opts.Value = strings.TrimRight(string(b), "\r\n")
			}
			if err := k.validate(opts.Value); err != nil {
				return cmdutil.FlagErrorf("%v", err)
			}
			if runF != nil {
				return runF(opts)
			}
			return setRun(opts)
		},
	}
}

func setRun(opts *Options) error {
	k, err := lookup(opts.Setting)
	if err != nil {
		return err
	}
	cfg, err := opts.File()
	if err != nil {
		return err
	}
	k.set(cfg, opts.Value)
	if err := cfg.Save(); err != nil {
		return fmt.Errorf("save %s: %w", cfg.Path(), err)
	}
	opts.IO.Success("%s = %q in %s", opts.Setting, k.get(cfg), cfg.Path())
	return nil
}

func newCmdList(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:     "list",
		Short:   "Print every setting",
		Example: "  arsctl config list\n  arsctl config list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return listRun(opts)
		},
	}
}

func listRun(opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	m := map[string]string{}
	for _, n := range names() {
		m[n] = keys[n].get(cfg)
	}
	return opts.Output.Print(opts.IO, m, func(w io.Writer) error {
		for _, n := range names() {
			if _, err := fmt.Fprintf(w, "%s=%s\n", n, m[n]); err != nil {
				return err
			}
		}
		return nil
	})
}

func newCmdPath(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:     "path",
		Short:   "Print the configuration file's path",
		Example: "  arsctl config path",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return pathRun(opts)
		},
	}
}

func pathRun(opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, cfg.Path())
	return err
}
