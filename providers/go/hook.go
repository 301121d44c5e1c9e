package flagops

import (
	"context"

	"github.com/open-feature/go-sdk/openfeature"
)

// Hook is an OpenFeature hook that merges the facts of the evaluated identity into the evaluation
// context, for whatever provider is in use:
//
//	hook, err := flagops.NewHook("http://flagops-data-store.flagops-system.svc:8080")
//	if err != nil { … }
//	defer hook.Close()
//	openfeature.AddHooks(hook)
//
// When the store cannot answer, Before returns a GENERAL resolution error wrapping a
// [*StoreError]; the SDK then returns the caller's default value and that error.
type Hook struct {
	openfeature.UnimplementedHook
	source *source
}

var _ openfeature.Hook = (*Hook)(nil)

// NewHook returns a hook reading facts from the data store at baseURL. The watch stream opens on
// the first lookup (or [Hook.Start]); call [Hook.Close] on shutdown to stop it.
func NewHook(baseURL string, opts ...Option) (*Hook, error) {
	s, err := newSource(baseURL, opts)
	if err != nil {
		return nil, err
	}
	return &Hook{source: s}, nil
}

// Before returns the evaluation context with the identity's facts added. The caller's attributes
// are returned too, which is how they win over facts of the same name.
func (h *Hook) Before(ctx context.Context, hc openfeature.HookContext, _ openfeature.HookHints) (*openfeature.EvaluationContext, error) {
	ec, err := h.source.enrichContext(ctx, hc.EvaluationContext())
	if err != nil {
		return nil, openfeature.NewGeneralResolutionError(err.Error(), err)
	}
	return &ec, nil
}

// Start opens the watch stream now rather than on the first evaluation.
func (h *Hook) Start() { h.source.start() }

// Close stops the watch stream. Hooks have no lifecycle in OpenFeature, so call it on shutdown.
func (h *Hook) Close() { h.source.close() }
