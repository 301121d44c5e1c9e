package flagops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// The server pings every 15s; three missed pings mean a dead (possibly half-open) connection.
	watchIdleTimeout = 45 * time.Second
	watchMinDelay    = 500 * time.Millisecond
	watchMaxDelay    = 30 * time.Second
)

// changeEvent is the JSON payload of an "event: change".
type changeEvent struct {
	Revision  int64    `json:"revision"`
	Kind      string   `json:"kind"`
	Action    string   `json:"action"`
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Keys      []string `json:"keys"`
}

// watcher follows GET /api/v1/watch in a goroutine and reports changed facts. It reconnects with
// capped, jittered backoff and Last-Event-ID; stop() ends the goroutine and waits for it.
type watcher struct {
	client      *storeClient
	log         *slog.Logger
	onChange    func(namespace, name string)
	onReset     func(reason string)
	idleTimeout time.Duration

	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}

	connected atomic.Bool
	// Owned by the run goroutine.
	lastID  string
	retry   time.Duration
	failing bool
}

// start launches the goroutine once; it is a no-op after stop().
func (w *watcher) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.stopped {
		return
	}
	w.started = true
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go w.run(ctx)
}

// stop ends the stream and waits for the goroutine to exit.
func (w *watcher) stop() {
	w.mu.Lock()
	w.stopped = true
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	attempt := 0
	for ctx.Err() == nil {
		err := w.stream(ctx)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			w.reportFailure(err)
		} else {
			w.log.Debug("flagops: watch stream ended by the server; reconnecting")
		}
		// A stream that got established resets the backoff; repeated failures to connect grow it.
		if w.connected.Swap(false) {
			attempt = 0
		}
		base := watchMinDelay
		if w.retry > 0 {
			base = max(100*time.Millisecond, w.retry)
		}
		select {
		case <-time.After(backoff(attempt, base, watchMaxDelay)):
		case <-ctx.Done():
		}
		attempt++
	}
	w.connected.Store(false)
}

// backoff is capped exponential backoff with jitter: attempt 0 waits base/2..base, doubling up to
// the cap, so a fleet of clients does not reconnect in lock-step after a store restart.
func backoff(attempt int, base, ceiling time.Duration) time.Duration {
	d := ceiling
	if attempt < 30 && base<<attempt < ceiling {
		d = base << attempt
	}
	return d/2 + rand.N(d/2+1)
}

// stream runs one connection: nil when the server ends it, an error on failure.
func (w *watcher) stream(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	headers := map[string]string{"Accept": "text/event-stream", "Cache-Control": "no-cache"}
	if w.lastID != "" {
		headers["Last-Event-ID"] = w.lastID
	}

	// Only the connect is bounded by the timeout; the stream itself is bounded by idleness.
	connectTimer := time.AfterFunc(w.client.timeout, func() { cancel(errors.New("watch connect timed out")) })
	res, err := w.client.send(ctx, w.client.watchURL(), headers)
	connectTimer.Stop()
	if err != nil {
		return w.withCause(ctx, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, maxBody))
		return w.client.statusError(res.StatusCode, body)
	}

	w.connected.Store(true)
	if w.failing {
		w.log.Info("flagops: watch stream reconnected", "url", w.client.watchURL())
	} else {
		w.log.Debug("flagops: watch stream connected", "url", w.client.watchURL())
	}
	w.failing = false
	// Without a resume point we cannot know what changed before this stream existed.
	if w.lastID == "" {
		w.onReset("watch stream connected without a resume point")
	}

	idle := time.AfterFunc(w.idleTimeout, func() { cancel(errors.New("watch stream idle")) })
	defer idle.Stop()
	reader := newSSEReader(res.Body, w.lastID, func() { idle.Reset(w.idleTimeout) })
	for {
		ev, err := reader.next()
		if reader.retryMS > 0 {
			w.retry = time.Duration(reader.retryMS) * time.Millisecond
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return w.withCause(ctx, err)
		}
		w.dispatch(ev)
		w.lastID = ev.ID
	}
}

func (w *watcher) dispatch(ev sseEvent) {
	switch ev.Event {
	case "reset":
		w.onReset("server sent event: reset")
	case "change":
		var c changeEvent
		if err := json.Unmarshal([]byte(ev.Data), &c); err != nil || c.Kind == "" || c.Namespace == "" || c.Name == "" {
			// Safer to drop the whole cache than to keep facts we were told changed.
			w.onReset("unreadable change event")
			return
		}
		if c.Kind == "facts" {
			w.onChange(c.Namespace, c.Name)
		}
	}
}

func (w *watcher) reportFailure(err error) {
	if w.failing {
		w.log.Debug("flagops: watch stream still failing", "error", err)
		return
	}
	w.failing = true
	w.log.Warn("flagops: watch stream failed; retrying with backoff (cached facts fall back to their TTL until it reconnects)",
		"url", w.client.watchURL(), "error", err)
}

// withCause replaces a bare "context canceled" with the reason we cancelled (connect timeout,
// idleness).
func (w *watcher) withCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return w.client.fail(Unreachable, cause.Error(), err)
	}
	return err
}
