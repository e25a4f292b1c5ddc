package arsapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// A program enrolls a printer and handles the answers a person can act on.
func Example() {
	ctx := context.Background()
	// The http.Client would normally carry an OAuth 2.0 transport
	// (golang.org/x/oauth2 Config.Client) that adds the access token.
	c := arsapi.New("http://127.0.0.1:1", arsapi.WithHTTPClient(http.DefaultClient))

	terms, err := c.Terms(ctx)
	var unreachable *arsapi.UnreachableError
	if errors.As(err, &unreachable) {
		fmt.Println("no server at", unreachable.Server)
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{
		Provider:     arsapi.ProviderCanon,
		Printer:      arsapi.Printer{Model: "TS8320 series", Serial: "KMZX01234"},
		TermsVersion: terms.Version,
	}, "enroll-KMZX01234")
	var p *arsapi.Problem
	switch {
	case errors.As(err, &p) && p.Code == arsapi.CodeAlreadyEnrolled && p.EnrollmentID != "":
		fmt.Println("already enrolled as", p.EnrollmentID)
	case errors.As(err, &p) && p.Code == arsapi.CodeIneligibleModel:
		fmt.Println("not eligible; eligible models:", p.Eligible)
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println("enrolled:", e.ID, e.State)
	}
	// Output: no server at http://127.0.0.1:1
}
