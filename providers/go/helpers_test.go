package flagops

import (
	"log/slog"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// maxReplicasFlags is the flag every test evaluates: 5 replicas for fact tier == "gold", else 1.
func maxReplicasFlags() map[string]memprovider.InMemoryFlag {
	byTier := func(_ memprovider.InMemoryFlag, flat openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		if flat["tier"] == "gold" {
			return 5, openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: "gold"}
		}
		return 1, openfeature.ProviderResolutionDetail{Reason: openfeature.DefaultReason, Variant: "standard"}
	}
	return map[string]memprovider.InMemoryFlag{
		"max-replicas": {
			Key:              "max-replicas",
			State:            memprovider.Enabled,
			DefaultVariant:   "standard",
			Variants:         map[string]any{"standard": 1, "gold": 5},
			ContextEvaluator: &byTier,
		},
	}
}

func inMemory() openfeature.FeatureProvider {
	return memprovider.NewInMemoryProvider(maxReplicasFlags())
}

// clientFor registers p under a domain of its own and returns a client bound to it. Cleanup
// replaces it, which makes the SDK shut p down.
func clientFor(t *testing.T, p openfeature.FeatureProvider) *openfeature.Client {
	t.Helper()
	domain := t.Name()
	if err := openfeature.SetNamedProviderAndWait(domain, p); err != nil {
		t.Fatalf("set provider: %v", err)
	}
	t.Cleanup(func() { _ = openfeature.SetNamedProviderAndWait(domain, openfeature.NoopProvider{}) })
	return openfeature.NewClient(domain)
}

func testLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
