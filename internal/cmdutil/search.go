package cmdutil

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/snmp"
)

// SearchFlags are the flags of the commands that look for printers beyond
// the local link (discover, register, monitor): address ranges to sweep
// and DNS domains to browse, with the SNMP credentials to use.
type SearchFlags struct {
	Subnets          []string
	AllowLargeSweep  bool
	Rate             float64
	Concurrency      int
	ProbeTimeout     time.Duration
	Domains          []string
	DNSServer        string
	SNMPCommunity    string
	SNMPUser         string
	SNMPAuthProtocol string
	SNMPPrivProtocol string
}

// AddSearchFlags registers the search flags on fl and returns where they
// are stored.
func AddSearchFlags(fl *pflag.FlagSet) *SearchFlags {
	s := &SearchFlags{}
	fl.StringArrayVar(&s.Subnets, "subnet", nil, "Also probe every address of this `range` with SNMP and IPP: a CIDR prefix (10.1.2.0/24) or FIRST-LAST (repeatable)")
	fl.BoolVar(&s.AllowLargeSweep, "allow-large-sweep", false, fmt.Sprintf("Allow --subnet ranges of more than %d addresses (a /16), up to %d (a /8)", discovery.MaxSweep, discovery.MaxLargeSweep))
	fl.Float64Var(&s.Rate, "sweep-rate", discovery.DefaultSweepRate, "With --subnet: addresses started each second")
	fl.IntVar(&s.Concurrency, "sweep-concurrency", discovery.DefaultSweepConcurrency, "With --subnet: addresses probed at once")
	fl.DurationVar(&s.ProbeTimeout, "probe-timeout", discovery.DefaultProbeTimeout, "With --subnet: how long an address has to answer")
	fl.StringArrayVar(&s.Domains, "domain", nil, "Also look for printers published with DNS-SD in this DNS `domain` (repeatable)")
	fl.StringVar(&s.DNSServer, "dns-server", "", "With --domain: ask this DNS server (`HOST[:PORT]`) instead of the system's")
	fl.StringVar(&s.SNMPCommunity, "snmp-community", "", "SNMP v2c `community` (default: ARS_SNMP_COMMUNITY, the config's snmp.community, or public)")
	fl.StringVar(&s.SNMPUser, "snmp-user", "", "Use SNMPv3 as this `user` (passwords from ARS_SNMP_AUTH_PASSWORD and ARS_SNMP_PRIV_PASSWORD or the config)")
	fl.StringVar(&s.SNMPAuthProtocol, "snmp-auth", "", "SNMPv3 authentication `protocol`: "+strings.Join(snmp.AuthProtocols(), ", "))
	fl.StringVar(&s.SNMPPrivProtocol, "snmp-priv", "", "SNMPv3 privacy `protocol`: "+strings.Join(snmp.PrivProtocols(), ", "))
	return s
}

// Apply checks the flags and sets the sweep, domain and SNMP settings of
// o. Secrets come from the environment (ARS_SNMP_COMMUNITY,
// ARS_SNMP_AUTH_PASSWORD, ARS_SNMP_PRIV_PASSWORD), then from cfg (may be
// nil); flags name no secret but the community. Errors are FlagErrors
// and never contain a secret.
func (s *SearchFlags) Apply(o *discovery.Options, getenv config.Env, cfg *config.Config) error {
	if s == nil {
		return nil
	}
	for _, sub := range s.Subnets {
		for _, part := range strings.Split(sub, ",") {
			r, err := discovery.ParseRange(part)
			if err != nil {
				return FlagErrorf("--subnet: %v", err)
			}
			o.Sweep.Ranges = append(o.Sweep.Ranges, r)
		}
	}
	if s.Rate <= 0 || s.Concurrency <= 0 || s.ProbeTimeout <= 0 {
		return FlagErrorf("--sweep-rate, --sweep-concurrency and --probe-timeout must be positive")
	}
	o.Sweep.AllowLarge = s.AllowLargeSweep
	o.Sweep.Rate = s.Rate
	o.Sweep.Concurrency = s.Concurrency
	o.Sweep.ProbeTimeout = s.ProbeTimeout
	for _, d := range s.Domains {
		o.Domains = append(o.Domains, strings.Split(d, ",")...)
	}
	if s.DNSServer != "" && len(o.Domains) == 0 {
		return FlagErrorf("--dns-server needs --domain")
	}
	o.DNSServer = s.DNSServer

	var c config.SNMP
	if cfg != nil {
		c = cfg.SNMP
	}
	pick := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	so := snmp.Options{Community: pick(s.SNMPCommunity, getenv("ARS_SNMP_COMMUNITY"), c.Community)}
	if user := pick(s.SNMPUser, c.User); user != "" {
		so.V3 = &snmp.V3{
			User:         user,
			AuthProtocol: pick(s.SNMPAuthProtocol, c.AuthProtocol),
			AuthPassword: pick(getenv("ARS_SNMP_AUTH_PASSWORD"), c.AuthPassword),
			PrivProtocol: pick(s.SNMPPrivProtocol, c.PrivProtocol),
			PrivPassword: pick(getenv("ARS_SNMP_PRIV_PASSWORD"), c.PrivPassword),
		}
		if err := so.V3.Validate(); err != nil {
			return FlagErrorf("%v", err)
		}
	} else if s.SNMPAuthProtocol != "" || s.SNMPPrivProtocol != "" {
		return FlagErrorf("--snmp-auth and --snmp-priv need --snmp-user")
	}
	o.SNMPOptions = so
	if len(o.Sweep.Ranges) > 0 {
		if err := o.Sweep.Validate(); err != nil {
			return FlagErrorf("--subnet: %v; give smaller ranges, or --allow-large-sweep", err)
		}
	}
	return nil
}

// Any reports whether a sweep or a domain browse was asked for.
func (s *SearchFlags) Any() bool {
	return s != nil && (len(s.Subnets) > 0 || len(s.Domains) > 0)
}

// DiscoveryOptions returns the discovery settings the flags ask for,
// with secrets from f's environment and config file.
func (s *SearchFlags) DiscoveryOptions(f *Factory) (discovery.Options, error) {
	var o discovery.Options
	var cfg *config.Config
	if f.Config != nil {
		c, err := f.Config()
		if err != nil {
			return o, err
		}
		cfg = c
	}
	getenv := f.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return o, s.Apply(&o, getenv, cfg)
}
