// Package signin is the sign-in flow that commands share: `auth login`
// runs it, and so does register when the user is not signed in yet. It
// chooses between the browser flow and the device flow, tells the person
// what to do on stderr, and asks the server which account a token is.
package signin

import (
	"context"
	"errors"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Flow is what the sign-in needs from the outside world.
type Flow struct {
	IO         *iostreams.IOStreams
	HTTPClient *http.Client
	Browser    cmdutil.Browser
	Getenv     func(string) string
}

// FromFactory returns the flow of the process that f describes.
func FromFactory(f *cmdutil.Factory) *Flow {
	return &Flow{IO: f.IOStreams, HTTPClient: f.HTTPClient(), Browser: f.Browser, Getenv: f.Getenv}
}

// Mode chooses the sign-in flow.
type Mode struct {
	Device    bool // force the device flow
	Web       bool // force the browser flow
	NoBrowser bool // print the URL instead of opening a browser
}

var errUseDevice = errors.New("use device flow")

// Login signs in to server and returns the token without storing it. With
// neither Device nor Web it uses the browser when one can open here and
// falls back to the device flow otherwise (SSH, no display).
func (fl *Flow) Login(ctx context.Context, server string, mode Mode) (*oauth2.Token, error) {
	ios := fl.IO
	e, err := auth.Discover(ctx, fl.HTTPClient, server)
	if err != nil {
		return nil, err
	}
	useDevice := mode.Device
	if !mode.Device && !mode.Web && (mode.NoBrowser || fl.Getenv("SSH_CONNECTION") != "" && fl.Getenv("DISPLAY") == "") && e.DeviceAuthURL != "" {
		useDevice = true
	}
	if !useDevice {
		tok, err := auth.LoginBrowser(ctx, fl.HTTPClient, e, func(u string) error {
			if mode.NoBrowser {
				ios.Info("Open this URL in a browser on this machine to sign in:\n  %s", u)
			} else if err := fl.Browser.Browse(u); err != nil {
				if !mode.Web && e.DeviceAuthURL != "" {
					return errUseDevice
				}
				ios.Info("Could not open a browser (%v). Open this URL on this machine to sign in:\n  %s", err, u)
			} else {
				ios.Info("Opened your browser to sign in. If it did not open, visit:\n  %s", u)
			}
			ios.StartProgress("Waiting for sign-in in the browser…")
			return nil
		})
		ios.StopProgress()
		if !errors.Is(err, errUseDevice) {
			return tok, loginErr(err)
		}
	}
	tok, err := auth.LoginDevice(ctx, fl.HTTPClient, e, func(d *auth.DeviceCode) {
		ios.Info("To sign in, open %s in any browser and enter the code:\n\n    %s\n", d.VerificationURI, d.UserCode)
		if d.VerificationURIComplete != "" {
			ios.Info("(or open %s)", d.VerificationURIComplete)
		}
		ios.StartProgress("Waiting for approval…")
	})
	ios.StopProgress()
	return tok, loginErr(err)
}

func loginErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return cmdutil.AuthErrorf("sign-in was not completed in time; run `arsctl auth login` again")
	}
	if errors.Is(err, context.Canceled) {
		return cmdutil.ErrCancel
	}
	var unreachable *arsapi.UnreachableError
	if errors.As(err, &unreachable) {
		return err
	}
	return cmdutil.AuthErrorf("%v", err)
}

// Account asks server which account the token t belongs to.
func (fl *Flow) Account(ctx context.Context, server string, t *oauth2.Token) (arsapi.Account, error) {
	hc := oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, fl.HTTPClient), oauth2.StaticTokenSource(t))
	return arsapi.New(server, arsapi.WithHTTPClient(hc)).Account(ctx)
}
