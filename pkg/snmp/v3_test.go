package snmp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func TestV3(t *testing.T) {
	for _, tc := range []struct {
		v    V3
		err  string
		desc string
	}{
		{v: V3{User: "ars"}, desc: `user "ars" noAuthNoPriv`},
		{v: V3{User: "ars", AuthProtocol: "sha256", AuthPassword: "auth-secret-1"}, desc: `user "ars" authNoPriv SHA256`},
		{v: V3{User: "ars", AuthProtocol: "SHA", AuthPassword: "auth-secret-1", PrivProtocol: "AES", PrivPassword: "priv-secret-1"}, desc: `user "ars" authPriv SHA/AES`},
		{v: V3{}, err: "user name"},
		{v: V3{User: "ars", AuthProtocol: "SHA", AuthPassword: "secret"}, err: "at least 8"},
		{v: V3{User: "ars", AuthProtocol: "ROT13", AuthPassword: "auth-secret-1"}, err: "unknown SNMPv3 authentication"},
		{v: V3{User: "ars", AuthPassword: "auth-secret-1"}, err: "needs an authentication protocol"},
		{v: V3{User: "ars", PrivProtocol: "AES", PrivPassword: "priv-secret-1"}, err: "needs authentication"},
		{v: V3{User: "ars", AuthProtocol: "SHA", AuthPassword: "auth-secret-1", PrivProtocol: "AES"}, err: "at least 8"},
	} {
		err := tc.v.Validate()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: err %v, want %q", tc.v, err, tc.err)
			}
			continue
		}
		if err != nil || tc.v.String() != tc.desc {
			t.Errorf("%s: %v, want %s", tc.v, err, tc.desc)
		}
		o := Options{V3: &tc.v}
		for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), fmt.Sprintf("%v", tc.v)} {
			if strings.Contains(s, "secret") {
				t.Errorf("secret shown: %s", s)
			}
		}
		var g gosnmp.GoSNMP
		if err := tc.v.apply(&g); err != nil || g.Version != gosnmp.Version3 || g.SecurityParameters.(*gosnmp.UsmSecurityParameters).UserName != "ars" {
			t.Errorf("apply: %v, version %v", err, g.Version)
		}
	}
	if s := fmt.Sprintf("%v", Options{Community: "s3cret"}); strings.Contains(s, "s3cret") {
		t.Errorf("community shown: %s", s)
	}
}
