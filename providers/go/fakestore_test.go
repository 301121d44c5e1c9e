package flagops

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeStore implements the data store's contract for facts and the watch stream.
type fakeStore struct {
	*httptest.Server

	mu       sync.Mutex
	facts    map[string]map[string]any // "ns/id" -> facts
	revision int
	subs     map[chan string]struct{}
	token    string // required bearer token; "" accepts anything

	down         atomic.Bool  // facts requests answer 503
	factsCalls   atomic.Int64 // facts requests answered (any status)
	watchConns   atomic.Int64
	lastEventIDs chan string // Last-Event-ID of each watch request ("" when absent)
	quit         chan struct{}
}

func newFakeStore(t *testing.T) *fakeStore {
	t.Helper()
	s := &fakeStore{
		facts:        map[string]map[string]any{},
		subs:         map[chan string]struct{}{},
		lastEventIDs: make(chan string, 100),
		quit:         make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/identities/{id}/facts", s.getFacts)
	mux.HandleFunc("PATCH /api/v1/namespaces/{ns}/identities/{id}/facts", s.patchFacts)
	mux.HandleFunc("PUT /api/v1/namespaces/{ns}/identities/{id}/facts/{name}", s.putFact)
	mux.HandleFunc("GET /api/v1/watch", s.watch)
	s.Server = httptest.NewServer(s.auth(mux))
	t.Cleanup(func() {
		close(s.quit) // end watch streams, or Close would wait for them
		s.Close()
	})
	return s
}

func (s *fakeStore) setToken(token string) {
	s.mu.Lock()
	s.token = token
	s.mu.Unlock()
}

func (s *fakeStore) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		token := s.token
		s.mu.Unlock()
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			writeError(w, http.StatusUnauthorized, "Unauthorized", "bad token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

func (s *fakeStore) getFacts(w http.ResponseWriter, r *http.Request) {
	s.factsCalls.Add(1)
	if s.down.Load() {
		writeError(w, http.StatusServiceUnavailable, "Unavailable", "down for the test")
		return
	}
	s.mu.Lock()
	facts, ok := s.facts[r.PathValue("ns")+"/"+r.PathValue("id")]
	body, _ := json.Marshal(facts)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "identity has no facts")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (s *fakeStore) putFact(w http.ResponseWriter, r *http.Request) {
	var body struct{ Value any }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	s.set(r.PathValue("ns"), r.PathValue("id"), r.PathValue("name"), body.Value)
	w.Write([]byte("{}"))
}

// patchFacts sets several facts in one write, as the real PATCH does: a null value removes that
// fact, and the answer is the facts after the write. Numbers keep the text they were sent with.
func (s *fakeStore) patchFacts(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil || body == nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "expected a JSON object of facts")
		return
	}
	ns, id := r.PathValue("ns"), r.PathValue("id")
	s.setAll(ns, id, body)
	s.mu.Lock()
	out, _ := json.Marshal(s.facts[ns+"/"+id])
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

// set stores a fact and announces it on the watch streams, as the operator does.
func (s *fakeStore) set(ns, id, name string, value any) {
	s.setAll(ns, id, map[string]any{name: value})
}

// setAll stores several facts (a nil value removes one) and announces them in one change event.
func (s *fakeStore) setAll(ns, id string, values map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ns + "/" + id
	if s.facts[key] == nil {
		s.facts[key] = map[string]any{}
	}
	for name, value := range values {
		if value == nil {
			delete(s.facts[key], name)
		} else {
			s.facts[key][name] = value
		}
	}
	s.revision++
	data, _ := json.Marshal(map[string]any{
		"revision": s.revision, "kind": "facts", "action": "upsert",
		"namespace": ns, "name": id, "keys": slices.Sorted(maps.Keys(values)),
	})
	s.broadcastLocked(fmt.Sprintf("id: %d\nevent: change\ndata: %s\n\n", s.revision, data))
}

// broadcastLocked sends a raw SSE frame to every stream; s.mu must be held.
func (s *fakeStore) broadcastLocked(frame string) {
	for ch := range s.subs {
		ch <- frame
	}
}

func (s *fakeStore) broadcast(frame string) {
	s.mu.Lock()
	s.broadcastLocked(frame)
	s.mu.Unlock()
}

func (s *fakeStore) watch(w http.ResponseWriter, r *http.Request) {
	s.lastEventIDs <- r.Header.Get("Last-Event-ID")
	ch := make(chan string, 100)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": ping\n\n")
	w.(http.Flusher).Flush()
	s.watchConns.Add(1)
	for {
		select {
		case frame := <-ch:
			if frame == "" { // sentinel: end this stream
				return
			}
			fmt.Fprint(w, frame)
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		}
	}
}

// streams is how many watch streams are open right now.
func (s *fakeStore) streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
