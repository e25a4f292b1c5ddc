package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
)

var base, pid = os.Args[1], os.Args[2]

func rss() string {
	b, _ := os.ReadFile("/proc/" + pid + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "VmHWM") {
			fmt.Print(strings.Join(strings.Fields(l), " "), "  ")
		}
	}
	return ""
}

func call(method, path, tok string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func main() {
	mode := os.Args[3]
	if mode == "setup" {
		for i := 0; i < 8; i++ {
			email := fmt.Sprintf("m%d@example.com", i)
			call("POST", "/v1/accounts", "", map[string]string{"email": email, "password": "correct horse battery", "name": "M"})
			tok, err := oauthtest.DeviceLogin(context.Background(), nil, base, email, "correct horse battery")
			if err != nil {
				panic(err)
			}
			st, b := call("POST", "/v1/enrollments", tok.AccessToken, map[string]any{"provider": "canon", "terms_version": "2026-01", "printer": map[string]string{"model": "TS8320", "serial": fmt.Sprintf("MEM%d", i)}})
			var en struct{ ID string }
			json.Unmarshal(b, &en)
			sup := []map[string]any{}
			for j := 0; j < 64; j++ {
				sup = append(sup, map[string]any{"name": fmt.Sprintf("S%02d", j), "type": "inkCartridge", "level": 50})
			}
			st2, b2 := call("POST", "/v1/enrollments/"+en.ID+"/levels", tok.AccessToken, map[string]any{"read_at": time.Now().UTC().Add(-time.Minute), "supplies": sup})
			if st2 != 200 {
				fmt.Println(st, st2, string(b2))
			}
			fmt.Println(tok.AccessToken, en.ID)
		}
		return
	}
	// flood: lines of "token id" on stdin
	in, _ := io.ReadAll(os.Stdin)
	type pair struct{ tok, id string }
	var ps []pair
	for _, l := range strings.Split(strings.TrimSpace(string(in)), "\n") {
		f := strings.Fields(l)
		ps = append(ps, pair{f[0], f[1]})
	}
	rss()
	fmt.Println("before")
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	size := 0
	for _, p := range ps {
		for k := 0; k < 6; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; n < 8; n++ {
					st, b := call("GET", "/v1/enrollments/"+p.id+"/levels?since=2000-01-01T00:00:00Z", p.tok, nil)
					mu.Lock()
					codes[st]++
					size = len(b)
					mu.Unlock()
				}
			}()
		}
	}
	done := make(chan bool)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(500 * time.Millisecond):
				rss()
				fmt.Println()
			}
		}
	}()
	wg.Wait()
	close(done)
	rss()
	fmt.Println("after", codes, "answer bytes", size, time.Since(start))
}
