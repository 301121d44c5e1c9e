package flagops_test

import (
	"context"
	"fmt"
	"log"

	flagops "github.com/flagops/flagops-data-store/providers/go"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// Wrap the provider that holds the flag rules; every evaluation then sees the identity's facts.
func ExampleNewProvider() {
	byTier := func(_ memprovider.InMemoryFlag, flat openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		if flat["tier"] == "gold" { // a fact from the data store
			return 5, openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: "gold"}
		}
		return 1, openfeature.ProviderResolutionDetail{Reason: openfeature.DefaultReason, Variant: "standard"}
	}
	rules := memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		"max-replicas": {State: memprovider.Enabled, DefaultVariant: "standard",
			Variants: map[string]any{"standard": 1, "gold": 5}, ContextEvaluator: &byTier},
	})

	provider, err := flagops.NewProvider("http://flagops-data-store.flagops-system.svc:8080", rules)
	if err != nil {
		log.Fatal(err)
	}
	if err := openfeature.SetProviderAndWait(provider); err != nil {
		log.Fatal(err)
	}
	defer openfeature.Shutdown() // stops the watch stream

	client := openfeature.NewClient("my-app")
	replicas, err := client.IntValue(context.Background(), "max-replicas", 1,
		openfeature.NewEvaluationContext("customer-42", map[string]any{"namespace": "tenants"}))
	if err != nil {
		log.Printf("using default: %v", err) // e.g. the store is unreachable
	}
	fmt.Println(replicas)
}

// Or keep the provider you have and add the facts with a hook.
func ExampleNewHook() {
	hook, err := flagops.NewHook("http://flagops-data-store.flagops-system.svc:8080",
		flagops.WithDefaultNamespace("tenants"))
	if err != nil {
		log.Fatal(err)
	}
	defer hook.Close() // hooks have no lifecycle: stop the watch stream yourself
	openfeature.AddHooks(hook)
}
