package flagops

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
)

// tokenRecheck is how often at most the token file is read again. kubelet rotates tokens well
// before they expire, and the file is tiny, so re-reading beats tracking mtimes. A variable so
// tests can shorten it.
var tokenRecheck = 5 * time.Second

// tokenSource supplies the bearer token: a fixed string, or the content of a file that is re-read
// every tokenRecheck and after invalidate() (a 401).
type tokenSource struct {
	fixed    *string
	file     string
	optional bool // the file is only the in-cluster default: absence means "no token"
	onError  func(msg string)

	mu        sync.Mutex
	cached    string
	readAt    time.Time
	lastError string
}

// rotates reports whether a 401 may be cured by reading the file again.
func (t *tokenSource) rotates() bool { return t.fixed == nil && t.file != "" }

func (t *tokenSource) get() string {
	if t.fixed != nil {
		return *t.fixed
	}
	if t.file == "" {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.readAt.IsZero() && time.Since(t.readAt) < tokenRecheck {
		return t.cached
	}
	t.readAt = time.Now()
	data, err := os.ReadFile(t.file)
	if err != nil {
		t.cached = ""
		msg := "cannot read token file " + t.file + ": " + err.Error()
		// Report a broken file once, not on every re-read.
		if !(t.optional && errors.Is(err, fs.ErrNotExist)) && msg != t.lastError && t.onError != nil {
			t.onError(msg)
		}
		t.lastError = msg
		return ""
	}
	t.cached, t.lastError = strings.TrimSpace(string(data)), ""
	return t.cached
}

// invalidate makes the next get() read the file again.
func (t *tokenSource) invalidate() {
	t.mu.Lock()
	t.readAt = time.Time{}
	t.mu.Unlock()
}
