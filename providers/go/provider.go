package flagops

import (
	"context"
	"errors"

	"github.com/open-feature/go-sdk/openfeature"
)

// Provider wraps any OpenFeature provider and adds the facts of the evaluated identity to the
// context of every evaluation before delegating to it:
//
//	p, err := flagops.NewProvider(baseURL, flagd.NewProvider())
//	if err != nil { … }
//	openfeature.SetProviderAndWait(p)
//
// When the store cannot answer, an evaluation returns the caller's default value with error code
// GENERAL instead of calling the wrapped provider.
type Provider struct {
	wrapped openfeature.FeatureProvider
	source  *source
}

var (
	_ openfeature.FeatureProvider          = (*Provider)(nil)
	_ openfeature.ContextAwareStateHandler = (*Provider)(nil)
	_ openfeature.EventHandler             = (*Provider)(nil)
	_ openfeature.Tracker                  = (*Provider)(nil)
)

// NewProvider returns a provider that enriches contexts with facts from the data store at baseURL
// and delegates evaluations to wrapped. The watch stream opens when the SDK initializes the
// provider and stops when it shuts it down.
func NewProvider(baseURL string, wrapped openfeature.FeatureProvider, opts ...Option) (*Provider, error) {
	if wrapped == nil {
		return nil, errors.New("flagops: the wrapped provider is required")
	}
	s, err := newSource(baseURL, opts)
	if err != nil {
		return nil, err
	}
	return &Provider{wrapped: wrapped, source: s}, nil
}

// Metadata names the provider after the wrapped one, e.g. "flagops(flagd)".
func (p *Provider) Metadata() openfeature.Metadata {
	return openfeature.Metadata{Name: "flagops(" + p.wrapped.Metadata().Name + ")"}
}

// Hooks are the wrapped provider's, so they run as if it were registered directly.
func (p *Provider) Hooks() []openfeature.Hook { return p.wrapped.Hooks() }

// Init starts the watch stream and initializes the wrapped provider.
func (p *Provider) Init(ec openfeature.EvaluationContext) error {
	return p.InitWithContext(context.Background(), ec)
}

// InitWithContext starts the watch stream and initializes the wrapped provider. A store that is
// down does not fail initialization: evaluations degrade to default values on their own.
func (p *Provider) InitWithContext(ctx context.Context, ec openfeature.EvaluationContext) error {
	p.source.start()
	switch w := p.wrapped.(type) {
	case openfeature.ContextAwareStateHandler:
		return w.InitWithContext(ctx, ec)
	case openfeature.StateHandler:
		return w.Init(ec)
	}
	return nil
}

// Shutdown stops the watch stream and shuts the wrapped provider down.
func (p *Provider) Shutdown() { _ = p.ShutdownWithContext(context.Background()) }

// ShutdownWithContext stops the watch stream and shuts the wrapped provider down.
func (p *Provider) ShutdownWithContext(ctx context.Context) error {
	p.source.close()
	switch w := p.wrapped.(type) {
	case openfeature.ContextAwareStateHandler:
		return w.ShutdownWithContext(ctx)
	case openfeature.StateHandler:
		w.Shutdown()
	}
	return nil
}

// EventChannel forwards the wrapped provider's events (READY, STALE, CONFIGURATION_CHANGED…).
func (p *Provider) EventChannel() <-chan openfeature.Event {
	if w, ok := p.wrapped.(openfeature.EventHandler); ok {
		return w.EventChannel()
	}
	return nil // never delivers: the wrapped provider has no events
}

// Track forwards to the wrapped provider with the facts that are cached; tracking has no result
// to report a failed lookup in, so it does not wait for one.
func (p *Provider) Track(ctx context.Context, event string, ec openfeature.EvaluationContext, details openfeature.TrackingEventDetails) {
	if w, ok := p.wrapped.(openfeature.Tracker); ok {
		w.Track(ctx, event, p.source.enrichFromCache(ec), details)
	}
}

func (p *Provider) BooleanEvaluation(ctx context.Context, flag string, def bool, flat openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	return resolve(p, ctx, def, flat, func(f openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
		return p.wrapped.BooleanEvaluation(ctx, flag, def, f)
	})
}

func (p *Provider) StringEvaluation(ctx context.Context, flag string, def string, flat openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	return resolve(p, ctx, def, flat, func(f openfeature.FlattenedContext) openfeature.StringResolutionDetail {
		return p.wrapped.StringEvaluation(ctx, flag, def, f)
	})
}

func (p *Provider) FloatEvaluation(ctx context.Context, flag string, def float64, flat openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	return resolve(p, ctx, def, flat, func(f openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
		return p.wrapped.FloatEvaluation(ctx, flag, def, f)
	})
}

func (p *Provider) IntEvaluation(ctx context.Context, flag string, def int64, flat openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	return resolve(p, ctx, def, flat, func(f openfeature.FlattenedContext) openfeature.IntResolutionDetail {
		return p.wrapped.IntEvaluation(ctx, flag, def, f)
	})
}

func (p *Provider) ObjectEvaluation(ctx context.Context, flag string, def any, flat openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	return resolve(p, ctx, def, flat, func(f openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
		return p.wrapped.ObjectEvaluation(ctx, flag, def, f)
	})
}

// resolve enriches the context and delegates, or answers def with error code GENERAL when the
// store cannot answer (already logged, once, by the source).
func resolve[T any](p *Provider, ctx context.Context, def T, flat openfeature.FlattenedContext,
	delegate func(openfeature.FlattenedContext) openfeature.GenericResolutionDetail[T],
) openfeature.GenericResolutionDetail[T] {
	enriched, err := p.source.enrichFlat(ctx, flat)
	if err != nil {
		return openfeature.GenericResolutionDetail[T]{
			Value: def,
			ProviderResolutionDetail: openfeature.ProviderResolutionDetail{
				ResolutionError: openfeature.NewGeneralResolutionError(err.Error(), err),
				Reason:          openfeature.ErrorReason,
			},
		}
	}
	return delegate(enriched)
}
