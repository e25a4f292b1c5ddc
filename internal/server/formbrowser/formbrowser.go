// Package formbrowser is a minimal web browser for tests and tools that
// drive arsd's HTML pages over HTTP, as a person would: it keeps cookies,
// follows redirects and a <meta http-equiv="refresh"> once, reads the
// forms of a page and submits them with their own values (hidden CSRF
// tokens included) and the fields and button given. It runs no scripts.
package formbrowser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Browser is a form-following HTTP client with its own cookies.
type Browser struct{ c *http.Client }

// New returns a browser with an empty cookie jar that sends its requests
// with a copy of hc (http.DefaultClient when nil).
func New(hc *http.Client) (*Browser, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := *hc
	c.Jar = jar
	return &Browser{c: &c}, nil
}

// Client is the browser's HTTP client, with its cookies.
func (b *Browser) Client() *http.Client { return b.c }

// Input is a named input or button of a form.
type Input struct{ Name, Type, Value string }

// Form is an HTML form: where it posts, its inputs with their values,
// and its submit buttons.
type Form struct {
	Action, Method string
	Inputs         []Input
	Buttons        []Input
}

// Has reports whether f has an input named name.
func (f *Form) Has(name string) bool {
	for _, in := range f.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

// HasType reports whether f has an input of type typ.
func (f *Form) HasType(typ string) bool {
	for _, in := range f.Inputs {
		if in.Type == typ {
			return true
		}
	}
	return false
}

// HasButton reports whether f has a submit button named name.
func (f *Form) HasButton(name string) bool {
	for _, b := range f.Buttons {
		if b.Name == name {
			return true
		}
	}
	return false
}

// Value is the value of f's input named name ("" when it has none).
func (f *Form) Value(name string) string {
	for _, in := range f.Inputs {
		if in.Name == name {
			return in.Value
		}
	}
	return ""
}

// Page is a page the browser reached: its final URL, status, body and forms.
type Page struct {
	URL    *url.URL
	Status int
	Body   []byte
	Forms  []*Form
}

// Form returns the first form of p that match accepts, or nil.
func (p *Page) Form(match func(*Form) bool) *Form {
	for _, f := range p.Forms {
		if match(f) {
			return f
		}
	}
	return nil
}

// Text is the page's visible text, shortened, for error messages.
func (p *Page) Text() string {
	doc, err := html.Parse(bytes.NewReader(p.Body))
	if err != nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(strings.Join(strings.Fields(n.Data), " "))
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return fmt.Sprintf("HTTP %d %s", p.Status, quoteShort(strings.TrimSpace(b.String()), 300))
}

// quoteShort is s as a Go string literal whose content (the escapes
// included) is at most max bytes, ending in … where s was cut. It cuts
// between characters, after escaping, so that neither a cut through a
// UTF-8 sequence nor the four bytes an escaped invalid byte takes can
// push the result past the bound.
func quoteShort(s string, max int) string {
	var b strings.Builder
	b.WriteByte('"')
	for s != "" {
		_, n := utf8.DecodeRuneInString(s)
		e := strconv.Quote(s[:n])
		e = e[1 : len(e)-1]
		if b.Len()-1+len(e) > max {
			b.WriteString("…")
			break
		}
		b.WriteString(e)
		s = s[n:]
	}
	b.WriteByte('"')
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// ParseForms reads the forms of an HTML page.
func ParseForms(body []byte) ([]*Form, error) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	var forms []*Form
	var walk func(n *html.Node, f *Form)
	walk = func(n *html.Node, f *Form) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				f = &Form{Action: attr(n, "action"), Method: strings.ToUpper(attr(n, "method"))}
				forms = append(forms, f)
			case "input":
				if f != nil && attr(n, "name") != "" {
					typ := strings.ToLower(attr(n, "type"))
					if typ == "" {
						typ = "text"
					}
					in := Input{Name: attr(n, "name"), Type: typ, Value: attr(n, "value")}
					if typ == "submit" {
						f.Buttons = append(f.Buttons, in)
					} else {
						f.Inputs = append(f.Inputs, in)
					}
				}
			case "button":
				if f != nil && attr(n, "name") != "" {
					f.Buttons = append(f.Buttons, Input{Name: attr(n, "name"), Type: "submit", Value: attr(n, "value")})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	return forms, nil
}

// Do sends req, follows redirects and one meta refresh, and reads the page reached.
func (b *Browser) Do(req *http.Request) (*Page, error) {
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	forms, err := ParseForms(body)
	if err != nil {
		return nil, err
	}
	page := &Page{URL: resp.Request.URL, Status: resp.StatusCode, Body: body, Forms: forms}
	if target, ok := metaRefresh(body); ok && resp.StatusCode == http.StatusOK && req.Context().Value(refreshDepth{}) == nil {
		u, err := page.URL.Parse(target)
		if err != nil {
			return nil, fmt.Errorf("meta refresh to %q: %w", target, err)
		}
		next, err := http.NewRequestWithContext(context.WithValue(req.Context(), refreshDepth{}, 1), http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		return b.Do(next)
	}
	return page, nil
}

// refreshDepth marks a request made by following a meta refresh, which
// is followed once.
type refreshDepth struct{}

// Get opens u.
func (b *Browser) Get(ctx context.Context, u string) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.Do(req)
}

// metaRefresh returns the target of a <meta http-equiv="refresh"> page.
func metaRefresh(body []byte) (string, bool) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return "", false
	}
	var target string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if target != "" {
			return
		}
		if n.Type == html.ElementNode && n.Data == "meta" && strings.EqualFold(attr(n, "http-equiv"), "refresh") {
			_, u, ok := strings.Cut(attr(n, "content"), ";")
			if ok {
				u = strings.TrimSpace(u)
				if len(u) > 4 && strings.EqualFold(u[:4], "url=") {
					target = strings.Trim(strings.TrimSpace(u[4:]), `'"`)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return target, target != ""
}

// Submit posts form f of page with its own values, overridden by fill,
// pressing the button whose value is button (if any).
func (b *Browser) Submit(ctx context.Context, page *Page, f *Form, fill map[string]string, button string) (*Page, error) {
	if f.Method != "" && f.Method != http.MethodPost {
		return nil, errors.New("only POST forms are supported")
	}
	v := url.Values{}
	for _, in := range f.Inputs {
		if val, ok := fill[in.Name]; ok {
			v.Set(in.Name, val)
		} else {
			v.Set(in.Name, in.Value)
		}
	}
	for name, val := range fill {
		if !v.Has(name) {
			v.Set(name, val)
		}
	}
	if button != "" {
		for _, bt := range f.Buttons {
			if bt.Value == button {
				v.Set(bt.Name, bt.Value)
			}
		}
	}
	target, err := page.URL.Parse(f.Action)
	if err != nil {
		return nil, fmt.Errorf("form action %q: %w", f.Action, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", page.URL.Scheme+"://"+page.URL.Host)
	return b.Do(req)
}
