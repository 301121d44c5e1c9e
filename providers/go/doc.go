// Package flagops enriches OpenFeature evaluations with the facts that the flagops data store
// keeps per identity (tier, max-replicas, beta, …), so flag rules can target them. Facts keep
// their type: a string is a Go string, a boolean a bool, an integer an int64 and a decimal a
// float64 (see [Facts]).
//
// Two ways to use it, sharing one design:
//
//   - [NewHook]: an OpenFeature hook whose Before stage merges the facts of the evaluated
//     identity into the evaluation context, for whatever provider is in use.
//   - [NewProvider]: a provider that wraps any other provider and enriches the context before
//     delegating each evaluation. When the store cannot be reached it answers with the caller's
//     default value and error code GENERAL.
//
// The identity is the evaluation context's targeting key; its namespace is the context attribute
// "namespace", else the configured default namespace. Facts are cached per identity for a TTL and
// dropped as soon as the store's change feed (GET /api/v1/watch, Server-Sent Events) reports them
// changed.
package flagops
