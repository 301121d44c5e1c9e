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
// removes a fact) and returns the facts it answers with, decoded as plain JSON. The body is sent
// exactly as written, so a test decides the JSON text of every value (true or "true", 1.0 or 1).
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
	var facts map[string]any
	if err := json.Unmarshal(answer, &facts); err != nil {
		t.Fatalf("PATCH %s: answer %s: %v", u, answer, err)
	}
	return facts
}
