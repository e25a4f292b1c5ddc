package oauth

import (
	"log/slog"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The OIDC library logs request errors through slog's default logger;
	// the tests provoke many. TestTokensNeverLogged captures them itself.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
