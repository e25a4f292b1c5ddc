package snmp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// V3 holds SNMPv3 user-based security (RFC 3414) credentials. With no
// AuthProtocol the agent is asked with noAuthNoPriv, with AuthProtocol but
// no PrivProtocol with authNoPriv, with both with authPriv. Its String
// method never shows the passwords.
type V3 struct {
	// User is the USM user name.
	User string
	// AuthProtocol is one of AuthProtocols ("SHA", "SHA256" ...); empty
	// for none.
	AuthProtocol string
	// AuthPassword is the authentication pass phrase.
	AuthPassword string
	// PrivProtocol is one of PrivProtocols ("AES", "DES" ...); empty for
	// none.
	PrivProtocol string
	// PrivPassword is the privacy (encryption) pass phrase.
	PrivPassword string
	// ContextName is the SNMPv3 context; empty for the default one.
	ContextName string
}

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
	"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192,
	"AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
}

// AuthProtocols lists the accepted V3.AuthProtocol names.
func AuthProtocols() []string { return sortedKeys(authProtocols) }

// PrivProtocols lists the accepted V3.PrivProtocol names.
func PrivProtocols() []string { return sortedKeys(privProtocols) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Validate checks that the credentials are complete and name known
// protocols. Its errors never contain a password.
func (v *V3) Validate() error {
	_, _, _, err := v.params()
	return err
}

func (v *V3) params() (gosnmp.SnmpV3MsgFlags, gosnmp.SnmpV3AuthProtocol, gosnmp.SnmpV3PrivProtocol, error) {
	if v.User == "" {
		return 0, 0, 0, fmt.Errorf("snmp: SNMPv3 needs a user name")
	}
	auth, priv := gosnmp.NoAuth, gosnmp.NoPriv
	flags := gosnmp.NoAuthNoPriv
	if v.AuthProtocol != "" {
		a, ok := authProtocols[strings.ToUpper(v.AuthProtocol)]
		if !ok {
			return 0, 0, 0, fmt.Errorf("snmp: unknown SNMPv3 authentication protocol %q (want one of %s)", v.AuthProtocol, strings.Join(AuthProtocols(), ", "))
		}
		if len(v.AuthPassword) < 8 {
			return 0, 0, 0, fmt.Errorf("snmp: the SNMPv3 authentication password must have at least 8 characters")
		}
		auth, flags = a, gosnmp.AuthNoPriv
	} else if v.AuthPassword != "" {
		return 0, 0, 0, fmt.Errorf("snmp: an SNMPv3 authentication password needs an authentication protocol")
	}
	if v.PrivProtocol != "" {
		p, ok := privProtocols[strings.ToUpper(v.PrivProtocol)]
		if !ok {
			return 0, 0, 0, fmt.Errorf("snmp: unknown SNMPv3 privacy protocol %q (want one of %s)", v.PrivProtocol, strings.Join(PrivProtocols(), ", "))
		}
		if auth == gosnmp.NoAuth {
			return 0, 0, 0, fmt.Errorf("snmp: SNMPv3 privacy needs authentication too")
		}
		if len(v.PrivPassword) < 8 {
			return 0, 0, 0, fmt.Errorf("snmp: the SNMPv3 privacy password must have at least 8 characters")
		}
		priv, flags = p, gosnmp.AuthPriv
	} else if v.PrivPassword != "" {
		return 0, 0, 0, fmt.Errorf("snmp: an SNMPv3 privacy password needs a privacy protocol")
	}
	return flags, auth, priv, nil
}

// apply configures g for SNMPv3 with these credentials.
func (v *V3) apply(g *gosnmp.GoSNMP) error {
	flags, auth, priv, err := v.params()
	if err != nil {
		return err
	}
	g.Version = gosnmp.Version3
	g.Community = ""
	g.SecurityModel = gosnmp.UserSecurityModel
	g.MsgFlags = flags
	g.ContextName = v.ContextName
	g.SecurityParameters = &gosnmp.UsmSecurityParameters{
		UserName:                 v.User,
		AuthenticationProtocol:   auth,
		AuthenticationPassphrase: v.AuthPassword,
		PrivacyProtocol:          priv,
		PrivacyPassphrase:        v.PrivPassword,
	}
	return nil
}

// String describes the credentials without their passwords.
func (v V3) String() string {
	level := "noAuthNoPriv"
	switch {
	case v.PrivProtocol != "":
		level = "authPriv " + strings.ToUpper(v.AuthProtocol) + "/" + strings.ToUpper(v.PrivProtocol)
	case v.AuthProtocol != "":
		level = "authNoPriv " + strings.ToUpper(v.AuthProtocol)
	}
	return fmt.Sprintf("user %q %s", v.User, level)
}

// GoString is String, so that %#v does not show the passwords either.
func (v V3) GoString() string { return v.String() }

// redacted hides a secret but says whether one is set.
func redacted(s string) string {
	if s == "" {
		return `"public" (default)`
	}
	return "(set)"
}
