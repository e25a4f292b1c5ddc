package arsdcmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPprofListenServesProfilesOnLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, addr := range []string{"0.0.0.0:6060", "192.0.2.1:6060", ":6060", "nonsense"} {
		err := servePprof(ctx, addr, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("servePprof(%q) = %v, want a usage error", addr, err)
		}
	}
	var stderr bytes.Buffer
	if err := servePprof(ctx, "127.0.0.1:0", &stderr); err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(stderr.String(), "arsd profiles on "))
	resp, err := http.Get(url + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("GET %sgoroutine: %d %.200s", url, resp.StatusCode, body)
	}
}
