// Command fleetsignin creates an account on a running arsd and signs in to
// it with the real OAuth device authorization flow, then prints the
// access token, for bench/fleet.sh to hand to arsctl as ARS_TOKEN.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func main() {
	server := flag.String("server", arsapi.DefaultServer, "arsd base URL")
	email := flag.String("email", "fleet@example.com", "account email")
	password := flag.String("password", "fleet bench password 1", "account password")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := arsapi.New(*server).CreateAccount(ctx, arsapi.CreateAccountRequest{Email: *email, Password: *password})
	var p *arsapi.Problem
	if err != nil && !(errors.As(err, &p) && p.Code == arsapi.CodeEmailTaken) {
		fmt.Fprintln(os.Stderr, "fleetsignin: create account:", err)
		os.Exit(1)
	}
	tok, err := oauthtest.DeviceLogin(ctx, &http.Client{}, *server, *email, *password)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetsignin: sign in:", err)
		os.Exit(1)
	}
	fmt.Println(tok.AccessToken)
}
