package flagops

import (
	"fmt"
	"log/slog"
	"maps"
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

// typedFlags read facts of each type the way a rule written against the documented Go types does,
// with strict type assertions, so a fact of another type (the string "true", a whole ratio that
// arrived as an int64) does not match:
//
//   - new-ui (boolean): true when the fact beta is the bool true, else false
//   - rollout (float): the fact ratio when it is a float64, else 0
//   - replicas (integer): the fact replicas when it is an int64, else 1
//   - legacy-type (string): the Go type and value of the fact legacy, e.g. "string:true"
func typedFlags() map[string]memprovider.InMemoryFlag {
	match := openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: "fact"}
	none := openfeature.ProviderResolutionDetail{Reason: openfeature.DefaultReason, Variant: "default"}
	newUI := func(_ memprovider.InMemoryFlag, flat openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		if beta, ok := flat["beta"].(bool); ok {
			return beta, match
		}
		return false, none
	}
	rollout := func(_ memprovider.InMemoryFlag, flat openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		if ratio, ok := flat["ratio"].(float64); ok {
			return ratio, match
		}
		return 0.0, none
	}
	replicas := func(_ memprovider.InMemoryFlag, flat openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		if n, ok := flat["replicas"].(int64); ok {
			return int(n), match // the in-memory provider wants an int for IntValue
		}
		return 1, none
	}
	legacyType := func(_ memprovider.InMemoryFlag, flat openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		v, ok := flat["legacy"]
		if !ok {
			return "absent", none
		}
		return fmt.Sprintf("%T:%v", v, v), match
	}
	flag := func(key string, eval func(memprovider.InMemoryFlag, openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail)) memprovider.InMemoryFlag {
		return memprovider.InMemoryFlag{Key: key, State: memprovider.Enabled, ContextEvaluator: &eval}
	}
	return map[string]memprovider.InMemoryFlag{
		"new-ui":      flag("new-ui", newUI),
		"rollout":     flag("rollout", rollout),
		"replicas":    flag("replicas", replicas),
		"legacy-type": flag("legacy-type", legacyType),
	}
}

// typedFacts are the facts of every type that the typed tests write.
const typedFacts = `{"beta": true, "ratio": 0.5, "tier": "gold", "replicas": 3, "legacy": "true"}`

// inMemory is the SDK's in-memory provider with max-replicas and the typed flags.
func inMemory() openfeature.FeatureProvider {
	flags := maxReplicasFlags()
	maps.Copy(flags, typedFlags())
	return memprovider.NewInMemoryProvider(flags)
}

// expectTypedFacts evaluates every typed flag through client for an identity that has typedFacts,
// so it checks that the wrapped provider's rules saw beta as a bool, ratio as a float64, replicas
// as an int64 and legacy as the string "true".
func expectTypedFacts(t *testing.T, client *openfeature.Client, ec openfeature.EvaluationContext) {
	t.Helper()
	if got, err := client.BooleanValueDetails(bg, "new-ui", false, ec); err != nil || !got.Value || got.Variant != "fact" {
		t.Errorf("new-ui: got %+v, %v; want true from the bool fact beta", got, err)
	}
	if got, err := client.FloatValueDetails(bg, "rollout", -1, ec); err != nil || got.Value != 0.5 || got.Variant != "fact" {
		t.Errorf("rollout: got %+v, %v; want 0.5 from the float64 fact ratio", got, err)
	}
	if got, err := client.IntValueDetails(bg, "replicas", -1, ec); err != nil || got.Value != 3 || got.Variant != "fact" {
		t.Errorf("replicas: got %+v, %v; want 3 from the int64 fact replicas", got, err)
	}
	if got, err := client.StringValue(bg, "legacy-type", "", ec); err != nil || got != "string:true" {
		t.Errorf("legacy-type: got %q, %v; want the string \"true\" left a string", got, err)
	}
	if got, err := client.IntValue(bg, "max-replicas", -1, ec); err != nil || got != 5 {
		t.Errorf("max-replicas: got %d, %v; want 5 from the string fact tier", got, err)
	}
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
