package flagops

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/open-feature/go-sdk/openfeature"
)

// namespaceAttribute is the evaluation context attribute naming the identity's namespace.
const namespaceAttribute = "namespace"

// source is everything behind the hook and the provider: reads facts through a TTL cache that the
// watch stream invalidates, merges them into contexts, and reports store outages once.
type source struct {
	cfg     *config
	client  *storeClient
	cache   *factsCache
	watcher *watcher // nil when watching is off
	log     *slog.Logger

	mu      sync.Mutex
	failing ErrorKind // kind of the outage currently reported, "" when healthy
}

func newSource(baseURL string, opts []Option) (*source, error) {
	cfg, err := newConfig(baseURL, opts)
	if err != nil {
		return nil, err
	}
	s := &source{cfg: cfg, cache: newFactsCache(cfg.cacheTTL), log: cfg.logger}
	tokens := &tokenSource{
		fixed:    cfg.token,
		file:     cfg.tokenFile,
		optional: cfg.tokenFileOptional,
		onError: func(msg string) {
			s.log.Warn("flagops: " + msg + "; sending no bearer token")
		},
	}
	s.client = &storeClient{baseURL: cfg.baseURL, watchNamespace: cfg.defaultNamespace, timeout: cfg.timeout, http: cfg.httpClient, tokens: tokens}
	if cfg.watch {
		s.watcher = &watcher{
			client:      s.client,
			log:         s.log,
			idleTimeout: watchIdleTimeout,
			onChange:    func(ns, name string) { s.cache.invalidate(cacheKey(ns, name)) },
			onReset:     func(string) { s.cache.clear() },
		}
	}
	return s, nil
}

// start opens the watch stream if enabled. Idempotent; a lookup also starts it.
func (s *source) start() {
	if s.watcher != nil {
		s.watcher.start()
	}
}

// close stops the watch stream and forgets cached facts. Lookups still work afterwards, kept
// fresh by the TTL alone.
func (s *source) close() {
	if s.watcher != nil {
		s.watcher.stop()
	}
	s.cache.clear()
}

// facts returns the cached facts of namespace/identity, loading them if needed. The first failure
// of a kind is logged; the rest stay quiet until a lookup succeeds.
func (s *source) facts(ctx context.Context, namespace, identity string) (Facts, error) {
	s.start()
	facts, err := s.cache.get(ctx, cacheKey(namespace, identity), func() (Facts, error) {
		// Detached from the caller: concurrent callers share this load, so one caller giving up
		// must not fail the others. The client's timeout still bounds it.
		return s.client.getFacts(context.WithoutCancel(ctx), namespace, identity)
	})
	var serr *StoreError
	if err != nil && !errors.As(err, &serr) {
		// The caller's ctx ended while waiting for another caller's load: not an outage.
		return nil, s.client.fail(Unreachable, "gave up waiting: "+err.Error(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if serr == nil {
		if s.failing != "" {
			s.log.Info("flagops: data store reachable again", "url", s.cfg.baseURL)
			s.failing = ""
		}
		return facts, nil
	}
	if s.failing != serr.Kind {
		s.log.Error("flagops: "+serr.Error()+" (logged once until it recovers)", "kind", string(serr.Kind))
		s.failing = serr.Kind
	}
	return nil, serr
}

// target is the identity an evaluation is about: the targeting key, in the namespace given by the
// "namespace" attribute or the default one. ok is false without a targeting key.
func (s *source) target(targetingKey string, attrs map[string]any) (namespace, identity string, ok bool) {
	if targetingKey == "" {
		return "", "", false
	}
	if ns, _ := attrs[namespaceAttribute].(string); ns != "" {
		return ns, targetingKey, true
	}
	return s.cfg.defaultNamespace, targetingKey, true
}

// enrich returns attrs with the facts merged in; attributes already present win.
func enrich(attrs map[string]any, facts Facts) map[string]any {
	out := make(map[string]any, len(facts)+len(attrs))
	for k, v := range facts {
		out[k] = v
	}
	for k, v := range attrs {
		out[k] = v
	}
	return out
}

// enrichContext is enrich for an OpenFeature EvaluationContext (the hook's view).
func (s *source) enrichContext(ctx context.Context, ec openfeature.EvaluationContext) (openfeature.EvaluationContext, error) {
	attrs := ec.Attributes()
	ns, id, ok := s.target(ec.TargetingKey(), attrs)
	if !ok {
		return ec, nil
	}
	facts, err := s.facts(ctx, ns, id)
	if err != nil {
		return ec, err
	}
	return openfeature.NewEvaluationContext(id, enrich(attrs, facts)), nil
}

// enrichFlat is enrich for a FlattenedContext (the provider's view), where the targeting key is
// the "targetingKey" attribute.
func (s *source) enrichFlat(ctx context.Context, flat openfeature.FlattenedContext) (openfeature.FlattenedContext, error) {
	key, _ := flat[openfeature.TargetingKey].(string)
	ns, id, ok := s.target(key, flat)
	if !ok {
		return flat, nil
	}
	facts, err := s.facts(ctx, ns, id)
	if err != nil {
		return flat, err
	}
	return enrich(flat, facts), nil
}

// enrichFromCache is enrichContext from the cache only, for Track, which has no result to fail.
func (s *source) enrichFromCache(ec openfeature.EvaluationContext) openfeature.EvaluationContext {
	attrs := ec.Attributes()
	ns, id, ok := s.target(ec.TargetingKey(), attrs)
	if !ok {
		return ec
	}
	facts, ok := s.cache.peek(cacheKey(ns, id))
	if !ok {
		return ec
	}
	return openfeature.NewEvaluationContext(id, enrich(attrs, facts))
}

// cacheKey is unambiguous because "/" cannot appear in Kubernetes namespace names.
func cacheKey(namespace, identity string) string { return namespace + "/" + identity }
