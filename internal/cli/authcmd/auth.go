// Package authcmd implements the `arsctl auth` command group; each
// subcommand lives in a package of its own.
package authcmd

import (
	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cli/authcmd/login"
	"github.com/arsctl/arsctl/internal/cli/authcmd/logout"
	"github.com/arsctl/arsctl/internal/cli/authcmd/status"
	"github.com/arsctl/arsctl/internal/cli/authcmd/token"
	"github.com/arsctl/arsctl/internal/cmdutil"
)

// NewCmdAuth returns the auth command group.
func NewCmdAuth(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth <command>",
		Short: "Sign in and out, show who you are, manage API tokens",
		Long: `Sign in to your account on the ARS server (no account yet? the sign-in page
has "Register" to create one), sign out, show who you are signed in as, and
create, list and revoke API tokens for scripts and CI.

Tokens are kept in the system keyring, or in a file readable only by you
(0600) where no keyring exists. ARS_TOKEN overrides them, for CI and scripts.`,
		Example: `  arsctl auth login
  arsctl auth status
  arsctl auth token create --name ci --expires 90d
  arsctl auth logout`,
	}
	cmd.AddCommand(login.NewCmdLogin(f, nil), logout.NewCmdLogout(f, nil), status.NewCmdStatus(f, nil), token.NewCmdToken(f, nil))
	return cmd
}
