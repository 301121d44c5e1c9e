package flagops

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
)

// TestIntegration runs against a real flagops-data-store when FLAGOPS_TEST_URL is set:
//
//	FLAGOPS_TEST_URL=http://127.0.0.1:8080 FLAGOPS_TEST_TOKEN=… FLAGOPS_TEST_NAMESPACE=… go test ./...
func TestIntegration(t *testing.T) {
	base := os.Getenv("FLAGOPS_TEST_URL")
	if base == "" {
		t.Skip("FLAGOPS_TEST_URL is not set: skipping integration tests against a real flagops-data-store")
	}
	token := os.Getenv("FLAGOPS_TEST_TOKEN")
	ns := os.Getenv("FLAGOPS_TEST_NAMESPACE")
	if ns == "" {
		ns = "default"
	}

	t.Run("provider follows a changed fact", func(t *testing.T) {
		id := uniqueIdentity(t)
		putFact(t, base, token, ns, id, "tier", "silver")
		p, err := NewProvider(base, inMemory(), WithToken(token), WithDefaultNamespace(ns))
		if err != nil {
			t.Fatal(err)
		}
		client := clientFor(t, p)
		if got, err := client.IntValue(bg, "max-replicas", 0, identity(id, nil)); err != nil || got != 1 {
			t.Fatalf("silver: got %d, %v; want 1", got, err)
		}
		eventually(t, 5*time.Second, "watch stream connected", func() bool { return p.source.watcher.connected.Load() })
		putFact(t, base, token, ns, id, "tier", "gold")
		eventually(t, time.Second, "gold reaches the evaluation over the watch stream", func() bool {
			got, _ := client.IntValue(bg, "max-replicas", 0, identity(id, nil))
			return got == 5
		})
	})

	t.Run("hook reads facts", func(t *testing.T) {
		id := uniqueIdentity(t)
		putFact(t, base, token, ns, id, "tier", "gold")
		hook, err := NewHook(base, WithToken(token))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(hook.Close)
		client := clientFor(t, inMemory())
		client.AddHooks(hook)
		got, err := client.IntValue(bg, "max-replicas", 0, identity(id, map[string]any{"namespace": ns}))
		if err != nil || got != 5 {
			t.Fatalf("got %d, %v; want 5", got, err)
		}
	})

	t.Run("typed facts reach the wrapped provider's rules", func(t *testing.T) {
		id := uniqueIdentity(t)
		putFact(t, base, token, ns, id, "tier", "gold")
		putFact(t, base, token, ns, id, "replicas", 3)
		putFact(t, base, token, ns, id, "legacy", "true")
		answer := patchFacts(t, base, token, ns, id, `{"beta": true, "ratio": 0.5}`)
		if answer["beta"] != true || answer["ratio"] != json.Number("0.5") || answer["legacy"] != "true" || answer["replicas"] != json.Number("3") {
			t.Fatalf("the store answered %#v; want beta true, ratio 0.5, legacy \"true\", replicas 3", answer)
		}
		p, err := NewProvider(base, inMemory(), WithToken(token), WithDefaultNamespace(ns))
		if err != nil {
			t.Fatal(err)
		}
		client := clientFor(t, p)
		expectTypedFacts(t, client, identity(id, nil))

		flat, err := p.source.enrichFlat(bg, openfeature.FlattenedContext{openfeature.TargetingKey: id})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"beta": true, "ratio": 0.5, "tier": "gold", "replicas": int64(3), "legacy": "true"}
		for k, w := range want {
			if flat[k] != w {
				t.Errorf("%s: got %T %#v, want %T %#v", k, flat[k], flat[k], w, w)
			}
		}

		// A typed change follows the watch stream.
		eventually(t, 5*time.Second, "watch stream connected", func() bool { return p.source.watcher.connected.Load() })
		patchFacts(t, base, token, ns, id, `{"beta": false, "ratio": 0.75}`)
		eventually(t, time.Second, "beta=false and ratio=0.75 reach the evaluation", func() bool {
			on, err1 := client.BooleanValue(bg, "new-ui", true, identity(id, nil))
			ratio, err2 := client.FloatValue(bg, "rollout", -1, identity(id, nil))
			return err1 == nil && err2 == nil && !on && ratio == 0.75
		})

		// The README's promise: the API server stores 1.0 as 1, so a whole decimal is an int64.
		if answer := patchFacts(t, base, token, ns, id, `{"ratio": 1.0}`); answer["ratio"] != json.Number("1") {
			t.Fatalf("the store answered ratio %#v for 1.0; the README says it stores 1", answer["ratio"])
		}
		eventually(t, time.Second, "ratio 1.0 arrives as int64(1)", func() bool {
			flat, err := p.source.enrichFlat(bg, openfeature.FlattenedContext{openfeature.TargetingKey: id})
			return err == nil && flat["ratio"] == int64(1)
		})
	})

	t.Run("hook sees typed facts", func(t *testing.T) {
		id := uniqueIdentity(t)
		patchFacts(t, base, token, ns, id, typedFacts)
		hook, err := NewHook(base, WithToken(token), WithDefaultNamespace(ns))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(hook.Close)
		client := clientFor(t, inMemory())
		client.AddHooks(hook)
		expectTypedFacts(t, client, identity(id, nil))
	})

	t.Run("outage gives the default with GENERAL", func(t *testing.T) {
		logger, _ := testLogger()
		p, _ := NewProvider("http://127.0.0.1:1", inMemory(), WithToken(token), WithLogger(logger))
		client := clientFor(t, p)
		got, err := client.IntValueDetails(bg, "max-replicas", 42, identity(uniqueIdentity(t), nil))
		if err == nil || got.Value != 42 || got.ErrorCode != openfeature.GeneralCode {
			t.Fatalf("got %+v, %v; want 42 with GENERAL", got, err)
		}
	})
}

func uniqueIdentity(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "it-go-" + hex.EncodeToString(b)
}

// putFact writes a fact through the store's API; it answers 200 once the fact is readable.
func putFact(t *testing.T, base, token, ns, id, name string, value any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"value": value})
	u := base + "/api/v1/namespaces/" + url.PathEscape(ns) + "/identities/" + url.PathEscape(id) + "/facts/" + url.PathEscape(name)
	req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", u, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(res.Body)
		t.Fatalf("PUT %s: HTTP %d: %s", u, res.StatusCode, msg)
	}
}

// patchFacts sets several facts in one write through the store's API (PATCH …/facts; a null value
// removes a fact) and returns the facts it answers with, numbers as json.Number so that their
// text shows. The body is sent exactly as written, so a test decides the JSON text of every value
// (true or "true", 1.0 or 1).
func patchFacts(t *testing.T, base, token, ns, id, body string) map[string]any {
	t.Helper()
	u := base + "/api/v1/namespaces/" + url.PathEscape(ns) + "/identities/" + url.PathEscape(id) + "/facts"
	req, _ := http.NewRequest(http.MethodPatch, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PATCH %s: %v", u, err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PATCH %s %s: HTTP %d: %s", u, body, res.StatusCode, answer)
	}
	dec := json.NewDecoder(bytes.NewReader(answer))
	dec.UseNumber()
	var facts map[string]any
	if err := dec.Decode(&facts); err != nil {
		t.Fatalf("PATCH %s: answer %s: %v", u, answer, err)
	}
	return facts
}
