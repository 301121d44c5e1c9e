package flagops

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSSEReader(t *testing.T) {
	stream := ": ping\r\n\r\n" +
		"id: 7\nevent: change\ndata: {\"a\":1}\n\n" +
		"data: line1\rdata: line2\r\r" + // CR line ends, default event name, id carried over
		"retry: 1500\nevent: reset\n\n" + // no data, still dispatched
		"event: change\ndata: unterminated"
	r := newSSEReader(strings.NewReader(stream), "", nil)
	want := []sseEvent{
		{Event: "change", Data: `{"a":1}`, ID: "7"},
		{Event: "message", Data: "line1\nline2", ID: "7"},
		{Event: "reset", Data: "", ID: "7"},
	}
	for i, w := range want {
		got, err := r.next()
		if err != nil || got != w {
			t.Fatalf("event %d: got %+v, %v; want %+v", i, got, err, w)
		}
	}
	if _, err := r.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
	if r.retryMS != 1500 {
		t.Fatalf("retry %d", r.retryMS)
	}
}

func TestCacheDropsLoadInvalidatedMidFlight(t *testing.T) {
	c := newFactsCache(time.Minute)
	release := make(chan struct{})
	done := make(chan Facts)
	go func() {
		f, _ := c.get(bg, "ns/a", func() (Facts, error) { <-release; return Facts{"tier": "old"}, nil })
		done <- f
	}()
	eventually(t, time.Second, "load started", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.flights["ns/a"] != nil
	})
	c.invalidate("ns/a")
	close(release)
	if f := <-done; f["tier"] != "old" {
		t.Fatalf("the load still answers its caller, got %v", f)
	}
	if _, ok := c.peek("ns/a"); ok {
		t.Fatal("an invalidated load must not be stored")
	}
	f, _ := c.get(bg, "ns/a", func() (Facts, error) { return Facts{"tier": "new"}, nil })
	if f["tier"] != "new" {
		t.Fatalf("got %v", f)
	}
	if f, ok := c.peek("ns/a"); !ok || f["tier"] != "new" {
		t.Fatal("fresh load must be stored")
	}
}

func TestNotFoundWithoutErrorBodyIsNotEmptyFacts(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler()) // plain-text 404, as from a wrong base URL
	t.Cleanup(srv.Close)
	c := &storeClient{baseURL: srv.URL, timeout: time.Second, http: srv.Client(), tokens: &tokenSource{}}
	_, err := c.getFacts(bg, "default", "acme")
	var serr *StoreError
	if !errors.As(err, &serr) || serr.Kind != InvalidResponse {
		t.Fatalf("got %v", err)
	}
}

func TestFactsRequestTimesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c := &storeClient{baseURL: srv.URL, timeout: 100 * time.Millisecond, http: srv.Client(), tokens: &tokenSource{}}
	_, err := c.getFacts(bg, "default", "acme")
	var serr *StoreError
	if !errors.As(err, &serr) || serr.Kind != Unreachable || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got %v", err)
	}
}

func TestBackoff(t *testing.T) {
	for attempt, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second} {
		for range 20 {
			if d := backoff(attempt, 500*time.Millisecond, 30*time.Second); d < want/2 || d > want {
				t.Fatalf("attempt %d: %v not in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	if d := backoff(100, 500*time.Millisecond, 30*time.Second); d < 15*time.Second || d > 30*time.Second {
		t.Fatalf("capped: %v", d)
	}
}

// The wire text of each fact value decides its Go type: nothing is coerced, so a quoted "true"
// stays a string, and a number written with a fraction or an exponent is a float64 even when it
// is whole (the API server never sends 1.0: it stores it as 1, an int64).
func TestDecodeFactsKeepsTypes(t *testing.T) {
	body := `{"beta": true, "off": false, "ratio": 0.5, "neg": -2.25, "tiny": 1e-7, "whole": 1.0,
		"tier": "gold", "replicas": 3, "zero": 0, "legacy": "true", "count": "3",
		"max": 9007199254740991, "min": -9007199254740991}`
	facts, err := decodeFacts([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := Facts{
		"beta": true, "off": false, "ratio": 0.5, "neg": -2.25, "tiny": 1e-7, "whole": float64(1),
		"tier": "gold", "replicas": int64(3), "zero": int64(0), "legacy": "true", "count": "3",
		"max": int64(1<<53 - 1), "min": int64(-(1<<53 - 1)),
	}
	if len(facts) != len(want) {
		t.Fatalf("got %d facts, want %d: %#v", len(facts), len(want), facts)
	}
	for k, w := range want {
		// Comparing interfaces compares dynamic types too: int64(3) != 3, "true" != true.
		if got := facts[k]; got != w {
			t.Errorf("%s: got %T %#v, want %T %#v", k, got, got, w, w)
		}
	}
}
