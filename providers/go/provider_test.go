package flagops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
)

var bg = context.Background()

func identity(id string, attrs map[string]any) openfeature.EvaluationContext {
	return openfeature.NewEvaluationContext(id, attrs)
}

func TestProviderMergesFactsIntoContext(t *testing.T) {
	store := newFakeStore(t)
	store.set("default", "acme", "tier", "gold")
	store.set("default", "acme", "replicas-cap", 7)
	p, err := NewProvider(store.URL, inMemory())
	if err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, p)

	got, err := client.IntValueDetails(bg, "max-replicas", 0, identity("acme", nil))
	if err != nil || got.Value != 5 || got.Variant != "gold" {
		t.Fatalf("got %+v, %v; want 5 from variant gold", got, err)
	}
	if got, _ := client.IntValue(bg, "max-replicas", 0, identity("nobody", nil)); got != 1 {
		t.Fatalf("identity without facts: got %d, want 1", got)
	}
	if got, _ := client.IntValue(bg, "max-replicas", 0, openfeature.NewTargetlessEvaluationContext(nil)); got != 1 {
		t.Fatalf("no targeting key: got %d, want 1", got)
	}
}

func TestProviderFactTypes(t *testing.T) {
	store := newFakeStore(t)
	patchFacts(t, store.URL, "", "default", "acme", typedFacts)
	p, err := NewProvider(store.URL, inMemory(), WithWatch(false))
	if err != nil {
		t.Fatal(err)
	}
	flat, err := p.source.enrichFlat(bg, openfeature.FlattenedContext{"targetingKey": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	// Interface comparison checks the dynamic type as well: "true" != true, 3 != int64(3).
	want := openfeature.FlattenedContext{"targetingKey": "acme",
		"beta": true, "ratio": 0.5, "tier": "gold", "replicas": int64(3), "legacy": "true"}
	if len(flat) != len(want) {
		t.Fatalf("got %#v, want %#v", flat, want)
	}
	for k, w := range want {
		if flat[k] != w {
			t.Errorf("%s: got %T %#v, want %T %#v", k, flat[k], flat[k], w, w)
		}
	}
}

func TestProviderTypedFacts(t *testing.T) {
	store := newFakeStore(t)
	patchFacts(t, store.URL, "", "default", "acme", typedFacts)
	// The same values written as strings, as they had to be before facts were typed: the rules
	// compare types strictly, so none of them matches, and nothing turns the strings into types.
	patchFacts(t, store.URL, "", "default", "strings", `{"beta": "true", "ratio": "0.5", "replicas": "3"}`)
	p, err := NewProvider(store.URL, inMemory())
	if err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, p)

	expectTypedFacts(t, client, identity("acme", nil))

	strs := identity("strings", nil)
	if got, err := client.BooleanValue(bg, "new-ui", false, strs); err != nil || got {
		t.Errorf("new-ui with beta = \"true\": got %v, %v; want false", got, err)
	}
	if got, err := client.FloatValue(bg, "rollout", -1, strs); err != nil || got != 0 {
		t.Errorf("rollout with ratio = \"0.5\": got %v, %v; want 0", got, err)
	}
	if got, err := client.IntValue(bg, "replicas", -1, strs); err != nil || got != 1 {
		t.Errorf("replicas with replicas = \"3\": got %v, %v; want 1", got, err)
	}

	// A typed attribute from the caller still wins over the fact of the same name.
	if got, err := client.BooleanValue(bg, "new-ui", true, identity("acme", map[string]any{"beta": false})); err != nil || got {
		t.Errorf("caller's beta=false: got %v, %v; want false", got, err)
	}

	// A typed change pushed over the watch stream reaches the next evaluation with its type.
	eventually(t, 2*time.Second, "watch stream connected", func() bool { return p.source.watcher.connected.Load() })
	patchFacts(t, store.URL, "", "default", "acme", `{"beta": false, "ratio": 0.75}`)
	eventually(t, time.Second, "beta=false and ratio=0.75 reach the evaluation", func() bool {
		on, err1 := client.BooleanValue(bg, "new-ui", true, identity("acme", nil))
		ratio, err2 := client.FloatValue(bg, "rollout", -1, identity("acme", nil))
		return err1 == nil && err2 == nil && !on && ratio == 0.75
	})
}

func TestProviderExplicitAttributesWin(t *testing.T) {
	store := newFakeStore(t)
	store.set("default", "acme", "tier", "gold")
	p, _ := NewProvider(store.URL, inMemory())
	client := clientFor(t, p)

	got, err := client.IntValue(bg, "max-replicas", 0, identity("acme", map[string]any{"tier": "silver"}))
	if err != nil || got != 1 {
		t.Fatalf("got %d, %v; want the caller's tier=silver to win (1)", got, err)
	}
}

func TestProviderNamespaces(t *testing.T) {
	store := newFakeStore(t)
	store.set("team-a", "acme", "tier", "gold")
	p, _ := NewProvider(store.URL, inMemory())
	client := clientFor(t, p)

	if got, _ := client.IntValue(bg, "max-replicas", 0, identity("acme", nil)); got != 1 {
		t.Fatalf("default namespace: got %d, want 1", got)
	}
	if got, _ := client.IntValue(bg, "max-replicas", 0, identity("acme", map[string]any{"namespace": "team-a"})); got != 5 {
		t.Fatalf("namespace attribute: got %d, want 5", got)
	}

	p2, _ := NewProvider(store.URL, inMemory(), WithDefaultNamespace("team-a"), WithWatch(false))
	flat, err := p2.source.enrichFlat(bg, openfeature.FlattenedContext{"targetingKey": "acme"})
	if err != nil || flat["tier"] != "gold" {
		t.Fatalf("WithDefaultNamespace: got %v, %v", flat, err)
	}
}

func TestProviderCachesFacts(t *testing.T) {
	store := newFakeStore(t)
	store.set("default", "acme", "tier", "gold")
	p, _ := NewProvider(store.URL, inMemory(), WithWatch(false))
	client := clientFor(t, p)
	for range 5 {
		if got, _ := client.IntValue(bg, "max-replicas", 0, identity("acme", nil)); got != 5 {
			t.Fatalf("got %d, want 5", got)
		}
	}
	if n := store.factsCalls.Load(); n != 1 {
		t.Fatalf("%d facts requests for 5 evaluations, want 1", n)
	}
}

func TestProviderWatchedChangeReachesNextEvaluation(t *testing.T) {
	store := newFakeStore(t)
	store.set("default", "acme", "tier", "silver")
	p, _ := NewProvider(store.URL, inMemory()) // default TTL of 30s: only the stream can refresh
	client := clientFor(t, p)
	eventually(t, 2*time.Second, "watch stream connected", func() bool { return p.source.watcher.connected.Load() })

	if got, _ := client.IntValue(bg, "max-replicas", 0, identity("acme", nil)); got != 1 {
		t.Fatalf("silver: got %d, want 1", got)
	}
	store.set("default", "acme", "tier", "gold")
	eventually(t, time.Second, "change pushed over the stream reaches the evaluation", func() bool {
		got, _ := client.IntValue(bg, "max-replicas", 0, identity("acme", nil))
		return got == 5
	})
}

func TestProviderWatchResetDropsCache(t *testing.T) {
	store := newFakeStore(t)
	store.set("default", "acme", "tier", "silver")
	p, _ := NewProvider(store.URL, inMemory())
	client := clientFor(t, p)
	eventually(t, 2*time.Second, "watch stream connected", func() bool { return p.source.watcher.connected.Load() })
	if got, _ := client.IntValue(bg, "max-replicas", 0, identity("acme", nil)); got != 1 {
		t.Fatalf("got %d, want 1", got)
	}
	// Change behind the stream's back, then tell the client it cannot resume.
	store.mu.Lock()
	store.facts["default/acme"]["tier"] = "gold"
	store.mu.Unlock()
	store.broadcast("event: reset\ndata: {}\n\n")
	eventually(t, time.Second, "reset drops cached facts", func() bool {
		got, _ := client.IntValue(bg, "max-replicas", 0, identity("acme", nil))
		return got == 5
	})
}

func TestWatchReconnectsWithLastEventID(t *testing.T) {
	store := newFakeStore(t)
	p, _ := NewProvider(store.URL, inMemory())
	clientFor(t, p)
	if id := <-store.lastEventIDs; id != "" {
		t.Fatalf("first connect sent Last-Event-ID %q", id)
	}
	eventually(t, 2*time.Second, "watch stream connected", func() bool { return store.streams() == 1 })
	store.set("default", "acme", "tier", "gold") // id: 1
	store.broadcast("")                          // the server ends the stream
	select {
	case id := <-store.lastEventIDs:
		if id != "1" {
			t.Fatalf("reconnect sent Last-Event-ID %q, want 1", id)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no reconnect")
	}
}

func TestProviderShutdownStopsWatch(t *testing.T) {
	store := newFakeStore(t)
	p, _ := NewProvider(store.URL, inMemory())
	domain := t.Name()
	if err := openfeature.SetNamedProviderAndWait(domain, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "watch stream connected", func() bool { return store.streams() == 1 })
	if err := openfeature.SetNamedProviderAndWait(domain, openfeature.NoopProvider{}); err != nil {
		t.Fatal(err)
	}
	// The SDK shuts the replaced provider down in the background.
	eventually(t, time.Second, "watch goroutine exited", func() bool {
		select {
		case <-p.source.watcher.done:
			return true
		default:
			return false
		}
	})
	eventually(t, time.Second, "server sees the stream closed", func() bool { return store.streams() == 0 })
}

func TestProviderStoreUnreachable(t *testing.T) {
	logger, logs := testLogger()
	p, err := NewProvider("http://127.0.0.1:1", inMemory(), WithLogger(logger), WithTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, p)
	for range 3 {
		got, err := client.IntValueDetails(bg, "max-replicas", 42, identity("acme", nil))
		if err == nil || got.Value != 42 || got.ErrorCode != openfeature.GeneralCode || got.Reason != openfeature.ErrorReason {
			t.Fatalf("got %+v, %v; want default 42 with GENERAL", got, err)
		}
		if !strings.Contains(got.ErrorMessage, "unreachable") {
			t.Fatalf("error message %q does not say the store is unreachable", got.ErrorMessage)
		}
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Fatalf("%d error lines for 3 failed evaluations, want 1:\n%s", n, logs)
	}
}

func TestProviderOutageAndRecovery(t *testing.T) {
	store := newFakeStore(t)
	store.set("default", "acme", "tier", "gold")
	logger, logs := testLogger()
	p, _ := NewProvider(store.URL, inMemory(), WithLogger(logger), WithCacheTTL(0), WithWatch(false))
	client := clientFor(t, p)

	store.down.Store(true)
	for range 3 {
		got, err := client.IntValueDetails(bg, "max-replicas", 42, identity("acme", nil))
		if err == nil || got.Value != 42 || got.ErrorCode != openfeature.GeneralCode || !strings.Contains(got.ErrorMessage, "unreachable") {
			t.Fatalf("got %+v, %v; want default 42 with GENERAL", got, err)
		}
	}
	store.down.Store(false)
	if got, err := client.IntValue(bg, "max-replicas", 0, identity("acme", nil)); err != nil || got != 5 {
		t.Fatalf("after recovery: got %d, %v", got, err)
	}
	out := logs.String()
	if strings.Count(out, "level=ERROR") != 1 || !strings.Contains(out, "reachable again") {
		t.Fatalf("want one error line and a recovery line:\n%s", out)
	}
	if strings.Contains(out, "gold") {
		t.Fatalf("fact values must not be logged:\n%s", out)
	}
}

func TestProviderUnauthorized(t *testing.T) {
	store := newFakeStore(t)
	store.setToken("right")
	logger, _ := testLogger()
	p, _ := NewProvider(store.URL, inMemory(), WithToken("wrong"), WithWatch(false), WithLogger(logger))
	client := clientFor(t, p)
	got, err := client.IntValueDetails(bg, "max-replicas", 42, identity("acme", nil))
	if err == nil || got.Value != 42 || got.ErrorCode != openfeature.GeneralCode || !strings.Contains(got.ErrorMessage, "HTTP 401") {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestTokenFileRotation(t *testing.T) {
	store := newFakeStore(t)
	file := filepath.Join(t.TempDir(), "token")
	writeToken := func(tok string) {
		// Like kubelet: write a new file and rename it over the old one.
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	writeToken("token-1")
	store.setToken("token-1")
	store.set("default", "acme", "tier", "gold")
	p, _ := NewProvider(store.URL, inMemory(), WithTokenFile(file), WithCacheTTL(0))
	client := clientFor(t, p)
	eventually(t, 2*time.Second, "watch stream connected", func() bool { return p.source.watcher.connected.Load() })

	if got, err := client.IntValue(bg, "max-replicas", 0, identity("acme", nil)); err != nil || got != 5 {
		t.Fatalf("token-1: got %d, %v", got, err)
	}
	// Rotated before our next periodic re-read: the 401 makes us read the file again.
	writeToken("token-2")
	store.setToken("token-2")
	if got, err := client.IntValue(bg, "max-replicas", 0, identity("acme", nil)); err != nil || got != 5 {
		t.Fatalf("after rotation: got %d, %v", got, err)
	}
}

func TestTokenFileReread(t *testing.T) {
	old := tokenRecheck
	tokenRecheck = 20 * time.Millisecond
	t.Cleanup(func() { tokenRecheck = old })
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte("token-1"), 0o600)
	ts := &tokenSource{file: file}
	if got := ts.get(); got != "token-1" {
		t.Fatalf("got %q", got)
	}
	os.WriteFile(file, []byte("token-2\n"), 0o600)
	eventually(t, time.Second, "new token read", func() bool { return ts.get() == "token-2" })

	// The in-cluster default file may be absent: no token, no complaint.
	var complaints []string
	missing := &tokenSource{file: filepath.Join(t.TempDir(), "absent"), optional: true,
		onError: func(m string) { complaints = append(complaints, m) }}
	if missing.get() != "" || len(complaints) != 0 {
		t.Fatalf("optional missing file: %q", complaints)
	}
	explicit := &tokenSource{file: missing.file, onError: missing.onError}
	explicit.get()
	explicit.invalidate()
	explicit.get()
	if len(complaints) != 1 {
		t.Fatalf("want one complaint about an explicit missing file, got %q", complaints)
	}
}

func TestNoTokenSendsNoHeader(t *testing.T) {
	c, err := newConfig("http://x", []Option{WithToken("")})
	if err != nil || c.tokenFile != "" || c.token == nil || *c.token != "" {
		t.Fatalf("WithToken(\"\") must disable the token file: %+v %v", c, err)
	}
	ts := &tokenSource{fixed: c.token, file: c.tokenFile}
	if ts.get() != "" || ts.rotates() {
		t.Fatal("empty fixed token must send nothing")
	}
}

func TestNewProviderValidates(t *testing.T) {
	if _, err := NewProvider("not a url", inMemory()); err == nil {
		t.Fatal("want an error for a bad base URL")
	}
	if _, err := NewProvider("http://x", nil); err == nil {
		t.Fatal("want an error for a nil wrapped provider")
	}
	if _, err := NewHook("http://x", WithTimeout(0)); err == nil {
		t.Fatal("want an error for a zero timeout")
	}
	p, _ := NewProvider("http://x/", inMemory())
	if p.Metadata().Name != "flagops(InMemoryProvider)" || p.source.cfg.baseURL != "http://x" {
		t.Fatalf("metadata %q, base %q", p.Metadata().Name, p.source.cfg.baseURL)
	}
}
