package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
)

// TokenEnv is the environment variable holding a bearer token for CI and
// scripts; when set, stored tokens are ignored.
const TokenEnv = "ARS_TOKEN"

// persistingSource refreshes through the oauth2 package and saves every
// new token (refresh tokens rotate), so the next process starts from it.
type persistingSource struct {
	mu     sync.Mutex
	base   oauth2.TokenSource
	store  Store
	server string
	last   string
}

func (p *persistingSource) Token() (*oauth2.Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, err := p.base.Token()
	if err != nil {
		return nil, fmt.Errorf("refresh sign-in: %w; run `arsctl auth login`", oauthError(err))
	}
	if t.AccessToken != p.last {
		p.last = t.AccessToken
		if err := p.store.Save(p.server, t); err != nil {
			return nil, fmt.Errorf("save refreshed token: %w", err)
		}
	}
	return t, nil
}

// Client returns an HTTP client that authenticates to server: with
// ARS_TOKEN when set, else with the stored token, refreshed when it
// expires (needs the server's endpoints, found lazily). It returns
// ErrNoToken when there is nothing to authenticate with.
func Client(ctx context.Context, base *http.Client, getenv func(string) string, store Store, server string) (*http.Client, error) {
	if tok := getenv(TokenEnv); tok != "" {
		return withSource(base, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, TokenType: "Bearer"})), nil
	}
	t, err := store.Load(server)
	if err != nil {
		return nil, err
	}
	src := &lazyRefresh{ctx: ctx, hc: base, server: server, tok: t, store: store}
	return withSource(base, src), nil
}

func withSource(base *http.Client, src oauth2.TokenSource) *http.Client {
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	return &http.Client{
		Transport: &oauth2.Transport{Source: src, Base: next},
		Timeout:   base.Timeout,
	}
}

// lazyRefresh serves the stored token while it is valid and discovers the
// token endpoint only when a refresh is due.
type lazyRefresh struct {
	ctx    context.Context
	hc     *http.Client
	server string
	store  Store
	mu     sync.Mutex
	tok    *oauth2.Token
	src    oauth2.TokenSource
}

func (l *lazyRefresh) Token() (*oauth2.Token, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.src == nil {
		if l.tok.Valid() {
			return l.tok, nil
		}
		if l.tok.RefreshToken == "" {
			return nil, errors.New("sign-in expired; run `arsctl auth login`")
		}
		e, err := Discover(l.ctx, l.hc, l.server)
		if err != nil {
			return nil, err
		}
		ctx := context.WithValue(l.ctx, oauth2.HTTPClient, l.hc)
		l.src = &persistingSource{base: e.Config().TokenSource(ctx, l.tok), store: l.store, server: l.server, last: l.tok.AccessToken}
	}
	return l.src.Token()
}
