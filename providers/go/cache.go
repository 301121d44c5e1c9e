package flagops

import (
	"context"
	"sync"
	"time"
)

// maxEntries bounds the cache; beyond it expired entries are swept, then arbitrary ones dropped.
const maxEntries = 10_000

type cacheEntry struct {
	facts   Facts
	expires time.Time
}

type flight struct {
	done  chan struct{}
	facts Facts
	err   error
}

// factsCache is a TTL cache whose loads are shared by concurrent callers and can be invalidated
// mid-flight: a load that started before invalidate(key) still answers its own callers but is not
// stored, so a change announced by the watch stream is never papered over by an older response.
type factsCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cacheEntry
	flights map[string]*flight
}

func newFactsCache(ttl time.Duration) *factsCache {
	return &factsCache{ttl: ttl, entries: map[string]cacheEntry{}, flights: map[string]*flight{}}
}

func (c *factsCache) get(ctx context.Context, key string, load func() (Facts, error)) (Facts, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		if time.Now().Before(e.expires) {
			c.mu.Unlock()
			return e.facts, nil
		}
		delete(c.entries, key)
	}
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.facts, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()

	f.facts, f.err = load()

	c.mu.Lock()
	// Store only if nobody invalidated this key (or cleared the cache) while we were loading.
	if c.flights[key] == f {
		delete(c.flights, key)
		if f.err == nil && c.ttl > 0 {
			c.store(key, f.facts)
		}
	}
	c.mu.Unlock()
	close(f.done)
	return f.facts, f.err
}

// peek returns fresh cached facts without loading.
func (c *factsCache) peek(key string) (Facts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !time.Now().Before(e.expires) {
		return nil, false
	}
	return e.facts, true
}

func (c *factsCache) invalidate(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	delete(c.flights, key)
	c.mu.Unlock()
}

func (c *factsCache) clear() {
	c.mu.Lock()
	c.entries = map[string]cacheEntry{}
	c.flights = map[string]*flight{}
	c.mu.Unlock()
}

// store must be called with mu held.
func (c *factsCache) store(key string, facts Facts) {
	now := time.Now()
	c.entries[key] = cacheEntry{facts: facts, expires: now.Add(c.ttl)}
	if len(c.entries) <= maxEntries {
		return
	}
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) <= maxEntries {
			break
		}
		delete(c.entries, k)
	}
}
