package flagops

import "fmt"

// ErrorKind says why facts could not be read.
type ErrorKind string

const (
	// Unreachable: connection refused, timeout, 5xx or 429; the store is down or overloaded.
	Unreachable ErrorKind = "unreachable"
	// Unauthorized: 401/403; the token is missing, expired or lacks RBAC.
	Unauthorized ErrorKind = "unauthorized"
	// InvalidResponse: the store answered something that is not a facts map.
	InvalidResponse ErrorKind = "invalid-response"
)

// StoreError is a failed facts lookup. Evaluations report it with error code GENERAL; callers
// can reach it with errors.As on the error an evaluation returns.
type StoreError struct {
	Kind    ErrorKind
	BaseURL string
	Detail  string
	Err     error // underlying transport error, if any
}

func (e *StoreError) Error() string {
	what := map[ErrorKind]string{
		Unreachable:     "flagops data store unreachable",
		Unauthorized:    "flagops data store denied access",
		InvalidResponse: "flagops data store gave an invalid answer",
	}[e.Kind]
	return fmt.Sprintf("%s (%s): %s", what, e.BaseURL, e.Detail)
}

func (e *StoreError) Unwrap() error { return e.Err }
