package formbrowser

import "testing"

// FuzzParseForms feeds arbitrary bytes (a page from the network) to the
// form reader.
func FuzzParseForms(f *testing.F) {
	f.Add([]byte(`<form method="post" action="/login"><input type="hidden" name="csrf" value="x"><input type="password" name="password"><button name="action" value="approve">Go</button></form>`))
	f.Add([]byte(`<form><form><input name=a value=b><input name=c type=submit value=d></form>`))
	f.Add([]byte("<html><body>no forms</body></html>"))
	f.Add([]byte("<input name=x><form action='\x00'>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		forms, err := ParseForms(body)
		if err != nil {
			return
		}
		for _, fm := range forms {
			for _, in := range fm.Inputs {
				if in.Name == "" {
					t.Fatalf("input without a name: %+v", in)
				}
			}
		}
		p := &Page{Status: 200, Body: body, Forms: forms}
		if s := p.Text(); len(s) > 400 {
			t.Fatalf("text() is %d bytes long", len(s))
		}
	})
}
