package flagops

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
)

func TestHook(t *testing.T) {
	store := newFakeStore(t)
	store.set("default", "acme", "tier", "silver")
	hook, err := NewHook(store.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hook.Close)
	client := clientFor(t, inMemory())
	client.AddHooks(hook)

	if got, err := client.IntValue(bg, "max-replicas", 0, identity("acme", nil)); err != nil || got != 1 {
		t.Fatalf("silver: got %d, %v", got, err)
	}
	eventually(t, 2*time.Second, "watch stream connected", func() bool { return hook.source.watcher.connected.Load() })
	store.set("default", "acme", "tier", "gold")
	eventually(t, time.Second, "change pushed over the stream reaches the evaluation", func() bool {
		got, _ := client.IntValue(bg, "max-replicas", 0, identity("acme", nil))
		return got == 5
	})
	if got, _ := client.IntValue(bg, "max-replicas", 0, identity("acme", map[string]any{"tier": "bronze"})); got != 1 {
		t.Fatalf("explicit attribute must win: got %d", got)
	}
}

func TestHookTypedFacts(t *testing.T) {
	store := newFakeStore(t)
	patchFacts(t, store.URL, "", "default", "acme", typedFacts)
	hook, err := NewHook(store.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hook.Close)
	client := clientFor(t, inMemory())
	client.AddHooks(hook)
	expectTypedFacts(t, client, identity("acme", nil))
}

func TestHookStoreUnreachable(t *testing.T) {
	logger, logs := testLogger()
	hook, _ := NewHook("http://127.0.0.1:1", WithLogger(logger), WithWatch(false))
	client := clientFor(t, inMemory())
	client.AddHooks(hook)
	for range 3 {
		got, err := client.IntValueDetails(bg, "max-replicas", 42, identity("acme", nil))
		if got.Value != 42 || err == nil || !strings.Contains(err.Error(), "GENERAL") {
			t.Fatalf("got %+v, %v; want default 42 and a GENERAL error", got, err)
		}
		var serr *StoreError
		if !errors.As(err, &serr) || serr.Kind != Unreachable {
			t.Fatalf("error %v does not unwrap to an unreachable *StoreError", err)
		}
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Fatalf("%d error lines, want 1:\n%s", n, logs)
	}
	// Without a targeting key there is nothing to look up, so nothing fails.
	if got, err := client.IntValue(bg, "max-replicas", 0, openfeature.NewTargetlessEvaluationContext(nil)); err != nil || got != 1 {
		t.Fatalf("targetless: got %d, %v", got, err)
	}
}
