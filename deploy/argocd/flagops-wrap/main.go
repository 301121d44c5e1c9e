// Command flagops-wrap runs the flagops plugin's render (or any command) so that its data-store provider, which
// sends no token and reads no status, works with flagops-data-store's authentication and fails a render with the
// store's own reason:
//
//	flagops-wrap [--] /scripts/generate.sh
//
// It listens on a loopback port of its own for the render's lifetime and gives the command
// HTTP_PROXY=http://127.0.0.1:<port> (Go's default HTTP client, which the provider uses, honours it for http://
// URLs) and FLAGOPS_DATA_STORE_URL=http://127.0.0.1:<port>/api. Requests for the store's host (FLAGOPS_URL) are
// forwarded to it with `Authorization: Bearer <token>`, the token read from FLAGOPS_TOKEN_FILE on each request
// (a projected ServiceAccount token rotates); requests for any other host pass through untouched, never with the
// token. Within one render:
//
//   - GET /api/fact/<identity> is asked of the store once and answered from memory afterwards (every flag
//     evaluation of the prototype's provider asks again). After a write to the identity the next read asks
//     again, with the store's ETag (If-None-Match): unchanged facts are a 304 without a body.
//   - An identity without DeploymentFacts (the store answers `{}` with x-flagops-identity: not-found) is turned
//     into a 404, so the provider cannot render it as an identity without facts, unless
//     FLAGOPS_WRAP_ALLOW_UNKNOWN=true.
//   - Every error the store answered (unknown identity, 401/403, not Ready, a git-owned fact) is printed to
//     stderr with the store's message when the command ends, and the render fails (exit 1 if the command itself
//     succeeded): Argo CD shows the cause instead of the provider's "could not fetch identity context".
//
// Environment: FLAGOPS_URL (required), FLAGOPS_TOKEN_FILE (default /var/run/secrets/flagops/token),
// FLAGOPS_WRAP_ALLOW_UNKNOWN. Values of facts are never printed.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

const defaultTokenFile = "/var/run/secrets/flagops/token"

type cached struct {
	status int
	// The store's status line ("409 fact tier of … is managed by …"): the prototype's provider reports a failed
	// write as resp.Status, nothing else, so it is passed on as it came.
	statusLine string
	header     http.Header
	body       []byte
}

type wrap struct {
	upstream     *url.URL
	tokenFile    string
	allowUnknown bool
	client       *http.Client

	mu     sync.Mutex
	facts  map[string]*cached // by path, this render only
	stale  map[string]bool    // written since read: ask again, with the ETag
	causes map[string]struct{}
	calls  int
}

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: flagops-wrap [--] command [args...]")
		os.Exit(2)
	}
	raw := os.Getenv("FLAGOPS_URL")
	up, err := url.Parse(raw)
	if raw == "" || err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		fmt.Fprintln(os.Stderr, "flagops-wrap: FLAGOPS_URL must be the data store's http(s) URL, e.g. http://flagops-data-store.flagops-system:8080")
		os.Exit(2)
	}
	w := &wrap{
		upstream:     up,
		tokenFile:    envOr("FLAGOPS_TOKEN_FILE", defaultTokenFile),
		allowUnknown: os.Getenv("FLAGOPS_WRAP_ALLOW_UNKNOWN") == "true",
		client:       &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}},
		facts:        map[string]*cached{},
		stale:        map[string]bool{},
		causes:       map[string]struct{}{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "flagops-wrap: listen: %v\n", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	addr := "http://" + ln.Addr().String()

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = childEnv(os.Environ(), addr)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "flagops-wrap: %v\n", err)
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	werr := cmd.Wait()
	_ = srv.Close()
	code := 0
	if werr != nil {
		code = 1
		if ee, ok := werr.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			code = ee.ExitCode()
		}
	}
	if causes := w.sortedCauses(); len(causes) > 0 {
		for _, c := range causes {
			fmt.Fprintln(os.Stderr, "flagops-data-store:", c)
		}
		if code == 0 {
			fmt.Fprintln(os.Stderr, "flagops-data-store: the render read the store with errors; failing it rather than rendering defaults")
			code = 1
		}
	}
	if os.Getenv("FLAGOPS_WRAP_STATS") == "true" {
		fmt.Fprintf(os.Stderr, "flagops-wrap: %d request(s) to the store\n", w.upstreamCalls())
	}
	os.Exit(code)
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// childEnv points the command's plain-HTTP traffic at the wrapper. NO_PROXY is cleared: it would let the store's
// host bypass the wrapper (and its token).
func childEnv(env []string, addr string) []string {
	out := make([]string, 0, len(env)+4)
	for _, e := range env {
		k := strings.ToUpper(strings.SplitN(e, "=", 2)[0])
		if k == "HTTP_PROXY" || k == "NO_PROXY" || k == "FLAGOPS_DATA_STORE_URL" {
			continue
		}
		out = append(out, e)
	}
	return append(out, "HTTP_PROXY="+addr, "http_proxy="+addr, "FLAGOPS_DATA_STORE_URL="+addr+"/api")
}

func (w *wrap) note(format string, a ...any) {
	w.mu.Lock()
	w.causes[fmt.Sprintf(format, a...)] = struct{}{}
	w.mu.Unlock()
}

func (w *wrap) sortedCauses() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.causes))
	for c := range w.causes {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func (w *wrap) upstreamCalls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}

// ServeHTTP takes both proxy requests (`GET http://host/path`) and plain ones (`GET /path`, the store's).
func (w *wrap) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.IsAbs() && !strings.EqualFold(r.URL.Host, w.upstream.Host) {
		w.passThrough(rw, r)
		return
	}
	path := r.URL.EscapedPath()
	isFacts := strings.HasPrefix(path, "/api/fact/")
	id := ""
	if isFacts {
		id = strings.SplitN(strings.TrimPrefix(path, "/api/fact/"), "/", 2)[0]
	}
	if isFacts && r.Method != http.MethodGet {
		w.mu.Lock()
		for p := range w.facts {
			if p == "/api/fact/"+id || strings.HasPrefix(p, "/api/fact/"+id+"/") {
				w.stale[p] = true
			}
		}
		w.mu.Unlock()
	}
	if isFacts && r.Method == http.MethodGet {
		w.mu.Lock()
		c, stale := w.facts[path], w.stale[path]
		w.mu.Unlock()
		if c == nil || stale {
			etag := ""
			if c != nil && c.status == http.StatusOK {
				etag = c.header.Get("ETag")
			}
			next := w.forward(r, path, etag)
			if next.status == http.StatusNotModified && c != nil {
				next = c
			}
			c = next
			if c.status != http.StatusServiceUnavailable {
				w.mu.Lock()
				w.facts[path] = c
				delete(w.stale, path)
				w.mu.Unlock()
			}
		}
		reply(rw, c)
		return
	}
	reply(rw, w.forward(r, path, ""))
}

// forward asks the store; etag, for a read of facts already held, makes it a conditional GET.
func (w *wrap) forward(r *http.Request, path string, etag string) *cached {
	read := r.Method == http.MethodGet && strings.HasPrefix(path, "/api/fact/")
	target := *w.upstream
	target.Path = strings.TrimSuffix(w.upstream.Path, "/") + r.URL.Path
	target.RawPath = ""
	target.RawQuery = r.URL.RawQuery
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return w.failed(r.Method, path, err)
	}
	for _, h := range []string{"Content-Type", "Accept", "If-Match"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	if tok, err := os.ReadFile(w.tokenFile); err == nil && len(bytes.TrimSpace(tok)) > 0 {
		req.Header.Set("Authorization", "Bearer "+string(bytes.TrimSpace(tok)))
	}
	w.mu.Lock()
	w.calls++
	w.mu.Unlock()
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return w.failed(r.Method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	c := &cached{status: resp.StatusCode, statusLine: resp.Status, header: resp.Header.Clone(), body: b}
	if read && resp.StatusCode == http.StatusOK {
		if resp.Header.Get("X-Flagops-Identity") == "not-found" && !w.allowUnknown {
			msg := fmt.Sprintf("identity %s has no DeploymentFacts (set FLAGOPS_WRAP_ALLOW_UNKNOWN=true to render it without facts)", describeIdentity(path))
			w.note("%s %s: %s", r.Method, path, msg)
			return errorReply(http.StatusNotFound, "NotFound", msg)
		}
	}
	if resp.StatusCode >= 400 {
		w.note("%s %s: %d %s", r.Method, path, resp.StatusCode, messageOf(resp, b))
	}
	return c
}

// describeIdentity is the store's reading of the path's identity: `<ns>_<name>` is <ns>/<name>.
func describeIdentity(path string) string {
	id := strings.SplitN(strings.TrimPrefix(path, "/api/fact/"), "/", 2)[0]
	if i := strings.IndexByte(id, '_'); i > 0 {
		return id[:i] + "/" + id[i+1:]
	}
	return id + " (in the store's default namespace)"
}

func messageOf(resp *http.Response, body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return http.StatusText(resp.StatusCode)
}

func (w *wrap) failed(method, path string, err error) *cached {
	msg := fmt.Sprintf("the data store at %s cannot be reached: %v", w.upstream.Host, err)
	w.note("%s %s: %s", method, path, msg)
	return errorReply(http.StatusServiceUnavailable, "Unavailable", msg)
}

func errorReply(status int, code, message string) *cached {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &cached{status: status, header: h, body: b}
}

func reply(rw http.ResponseWriter, c *cached) {
	h := http.Header{}
	for _, k := range []string{"Content-Type", "ETag", "X-Flagops-Identity", "Retry-After"} {
		if v := c.header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	// net/http writes only the standard reason phrase; an error's own status line is written by hand.
	if c.status >= 400 && c.statusLine != "" && c.statusLine != fmt.Sprintf("%d %s", c.status, http.StatusText(c.status)) {
		if hj, ok := rw.(http.Hijacker); ok {
			if conn, buf, err := hj.Hijack(); err == nil {
				defer conn.Close()
				fmt.Fprintf(buf, "HTTP/1.1 %s\r\n", strings.Map(printable, c.statusLine))
				h.Set("Content-Length", fmt.Sprint(len(c.body)))
				h.Set("Connection", "close")
				_ = h.Write(buf)
				_, _ = buf.WriteString("\r\n")
				_, _ = buf.Write(c.body)
				_ = buf.Flush()
				return
			}
		}
	}
	for k, v := range h {
		rw.Header()[k] = v
	}
	rw.WriteHeader(c.status)
	_, _ = rw.Write(c.body)
}

func printable(r rune) rune {
	if r < 0x20 || r > 0x7e {
		return ' '
	}
	return r
}

// passThrough forwards a proxy request for another host as it came, without the token.
func (w *wrap) passThrough(rw http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Proxy-Connection")
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		rw.Header()[k] = v
	}
	rw.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(rw, resp.Body)
}
