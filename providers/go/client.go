package flagops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Facts are the key/values of one identity. A fact value is a string, a number or a boolean, and
// keeps its JSON type: a JSON string is a Go string (a quoted "true" stays the string "true"), a
// JSON boolean a bool, a JSON integer an int64 and any other number (a decimal) a float64.
type Facts map[string]any

// maxBody bounds what is read of a facts response; facts are small key/values.
const maxBody = 1 << 20

// storeClient is a thin client for the data store's REST API that maps every failure to a
// *StoreError.
type storeClient struct {
	baseURL string
	// watchNamespace scopes the change feed: a namespace-scoped token may not watch every namespace.
	watchNamespace string
	timeout        time.Duration
	http           *http.Client
	tokens         *tokenSource
}

func (c *storeClient) factsURL(namespace, identity string) string {
	return c.baseURL + "/api/v1/namespaces/" + url.PathEscape(namespace) +
		"/identities/" + url.PathEscape(identity) + "/facts"
}

func (c *storeClient) watchURL() string {
	if c.watchNamespace == "" {
		return c.baseURL + "/api/v1/watch"
	}
	return c.baseURL + "/api/v1/watch?namespace=" + url.QueryEscape(c.watchNamespace)
}

// getFacts reads the facts of namespace/identity; an identity without facts yields empty Facts.
func (c *storeClient) getFacts(ctx context.Context, namespace, identity string) (Facts, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := c.send(ctx, c.factsURL(namespace, identity), map[string]string{"Accept": "application/json"})
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, c.fail(Unreachable, "reading response: "+describe(ctx, err), err)
	}
	switch {
	case res.StatusCode == http.StatusOK:
		facts, err := decodeFacts(body)
		if err != nil {
			return nil, c.fail(InvalidResponse, "expected a JSON object of facts: "+err.Error(), nil)
		}
		return facts, nil
	// The store answers 404 + {"error":…} for an identity without facts. A 404 without that body
	// comes from something else (a wrong base URL, a proxy) and must not read as "no facts".
	case res.StatusCode == http.StatusNotFound && serverError(body) != nil:
		return Facts{}, nil
	default:
		return nil, c.statusError(res.StatusCode, body)
	}
}

// send GETs url with the bearer token. A 401 with a file-based token re-reads the file once and
// retries, since kubelet may have rotated the token since we last looked.
func (c *storeClient) send(ctx context.Context, url string, headers map[string]string) (*http.Response, error) {
	do := func(token string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, c.fail(InvalidResponse, err.Error(), err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := c.http.Do(req)
		if err != nil {
			return nil, c.fail(Unreachable, describe(ctx, err), err)
		}
		return res, nil
	}
	first := c.tokens.get()
	res, err := do(first)
	if err != nil || res.StatusCode != http.StatusUnauthorized || !c.tokens.rotates() {
		return res, err
	}
	c.tokens.invalidate()
	second := c.tokens.get()
	if second == first {
		return res, nil
	}
	drain(res)
	return do(second)
}

// statusError maps a non-success HTTP status to the error evaluations report.
func (c *storeClient) statusError(status int, body []byte) *StoreError {
	detail := fmt.Sprintf("HTTP %d", status)
	if e := serverError(body); e != nil && e.Message != "" {
		detail += ": " + e.Message
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return c.fail(Unauthorized, "request rejected with "+detail, nil)
	case status >= 500 || status == http.StatusTooManyRequests:
		return c.fail(Unreachable, detail, nil)
	default:
		return c.fail(InvalidResponse, "unexpected "+detail, nil)
	}
}

func (c *storeClient) fail(kind ErrorKind, detail string, err error) *StoreError {
	return &StoreError{Kind: kind, BaseURL: c.baseURL, Detail: detail, Err: err}
}

// describe names a transport error, turning our own deadline into "request timed out".
func describe(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "request timed out"
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err.Error()
	}
	return err.Error()
}

func decodeFacts(body []byte) (Facts, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errors.New("got null")
	}
	facts := make(Facts, len(raw))
	for k, v := range raw {
		facts[k] = normalize(v)
	}
	return facts, nil
}

// normalize turns json.Numbers into int64 (integers, written without a fraction or exponent) or
// float64 (any other number), recursively; strings and booleans pass through unchanged. The store
// serves numbers within ±(2^53-1), so an integer always fits an int64 exactly.
func normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
	}
	return v
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// serverError is the store's {"error":{"code","message"}} body, or nil.
func serverError(body []byte) *apiError {
	var b struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	return b.Error
}

// drain lets the connection be reused.
func drain(res *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
	res.Body.Close()
}
