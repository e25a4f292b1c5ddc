package registry

import (
	"testing"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

func TestGet(t *testing.T) {
	c := arsapi.New("http://127.0.0.1:1")
	for _, name := range []string{"canon", "AMAZON", " canon "} {
		p, err := Get(name, c)
		if err != nil {
			t.Fatalf("Get(%q): %v", name, err)
		}
		if p.Title() == "" || p.Description() == "" {
			t.Errorf("Get(%q) has no title or description", name)
		}
	}
	if _, err := Get("ink-r-us", c); err == nil {
		t.Error("Get of an unknown provider succeeded")
	}
	all := All(c)
	if len(all) != len(Names()) {
		t.Fatalf("All = %d providers, Names = %v", len(all), Names())
	}
	for i, p := range all {
		if string(p.Name()) != Names()[i] {
			t.Errorf("All()[%d] = %s, want %s", i, p.Name(), Names()[i])
		}
	}
}
