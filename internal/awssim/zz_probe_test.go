package awssim

import (
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

func TestProbeConnState(t *testing.T) {
	s, err := newServer(Options{Seed: GenerateSeed(GenerateOptions{Accounts: 1000})})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	var mu sync.Mutex
	states := map[http.ConnState]int{}
	hs := &http.Server{Handler: s, ConnState: func(c net.Conn, st http.ConnState) { mu.Lock(); states[st]++; mu.Unlock() }}
	go hs.Serve(ln)
	defer hs.Close()
	s.url = "http://" + ln.Addr().String()
	c := organizations.NewFromConfig(mgmtConfig(s, "us-east-1"))
	p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		if _, err := p.NextPage(ctx); err != nil {
			mu.Lock()
			t.Logf("states at failure: %v", states)
			mu.Unlock()
			t.Fatal(err)
		}
	}
	mu.Lock()
	t.Logf("states: %v", states)
	mu.Unlock()
}
