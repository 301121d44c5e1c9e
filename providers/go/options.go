package flagops

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTokenFile is where in-cluster pods find their (kubelet-rotated) ServiceAccount token.
const DefaultTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

const (
	defaultNamespace = "default"
	defaultCacheTTL  = 30 * time.Second
	defaultTimeout   = 2 * time.Second
)

// Option configures a [Hook] or a [Provider].
type Option func(*config)

type config struct {
	baseURL          string
	defaultNamespace string
	token            *string // nil: not set
	tokenFile        string
	// tokenFileOptional is true when tokenFile is only the in-cluster default, whose absence
	// means "no token" rather than an error.
	tokenFileOptional bool
	cacheTTL          time.Duration
	timeout           time.Duration
	watch             bool
	httpClient        *http.Client
	logger            *slog.Logger
}

// WithDefaultNamespace sets the namespace used when the evaluation context has no "namespace"
// attribute. Default "default".
func WithDefaultNamespace(namespace string) Option {
	return func(c *config) { c.defaultNamespace = namespace }
}

// WithToken sets a fixed bearer token. It takes precedence over [WithTokenFile]; an empty token
// sends no Authorization header and also turns off the default token file.
func WithToken(token string) Option {
	return func(c *config) { c.token = &token }
}

// WithTokenFile reads the bearer token from a file, re-read when it changes (kubelet rotates
// projected tokens) and after a 401. Without WithToken or WithTokenFile, [DefaultTokenFile] is
// used if it exists, else no header is sent.
func WithTokenFile(path string) Option {
	return func(c *config) { c.tokenFile = path; c.tokenFileOptional = false }
}

// WithCacheTTL sets how long the facts of one identity are cached. Default 30s; 0 disables the
// cache.
func WithCacheTTL(ttl time.Duration) Option {
	return func(c *config) { c.cacheTTL = ttl }
}

// WithTimeout bounds one facts request and the opening of the watch stream. Default 2s.
func WithTimeout(timeout time.Duration) Option {
	return func(c *config) { c.timeout = timeout }
}

// WithWatch turns the change feed on or off. Default on: cached facts are dropped as soon as the
// store reports them changed. Off, they live for the cache TTL.
func WithWatch(watch bool) Option {
	return func(c *config) { c.watch = watch }
}

// WithHTTPClient sets the HTTP client (proxies, TLS, tests). Its Timeout, if any, also cuts the
// long-lived watch stream, which then reconnects; prefer [WithTimeout] for request timeouts.
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) { c.httpClient = client }
}

// WithLogger sets where outages and watch-stream changes are logged. Default [slog.Default].
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

func newConfig(baseURL string, opts []Option) (*config, error) {
	c := &config{
		defaultNamespace:  defaultNamespace,
		tokenFile:         DefaultTokenFile,
		tokenFileOptional: true,
		cacheTTL:          defaultCacheTTL,
		timeout:           defaultTimeout,
		watch:             true,
	}
	for _, opt := range opts {
		opt(c)
	}
	// Validate early so a typo fails at start-up rather than on every evaluation.
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("flagops: base URL %q must be an absolute http(s) URL", baseURL)
	}
	c.baseURL = strings.TrimRight(u.String(), "/")
	if c.defaultNamespace == "" {
		c.defaultNamespace = defaultNamespace
	}
	if c.token != nil {
		c.tokenFile = ""
	}
	if c.cacheTTL < 0 {
		return nil, errors.New("flagops: cache TTL must not be negative")
	}
	if c.timeout <= 0 {
		return nil, errors.New("flagops: timeout must be positive")
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c, nil
}
