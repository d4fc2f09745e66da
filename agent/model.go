package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/schema"
	"github.com/prometheus/client_golang/prometheus"
)

// ModelOptions configure Resilient.
type ModelOptions struct {
	Provider   string
	MaxRetries int
	// Backoff is the first retry's delay, doubled after each try (default 500ms).
	Backoff  time.Duration
	Registry prometheus.Registerer
}

// Resilient wraps a provider's model: retries on retryable errors (rate limits, 5xx, timeouts),
// and records latency and token usage.
func Resilient(m model.ToolCallingChatModel, o ModelOptions) model.ToolCallingChatModel {
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	r := &resilient{m: m, o: o,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "k8sm_agent_model_latency_seconds",
			Help: "Chat model call latency by provider and outcome.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 10)}, []string{"provider", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8sm_agent_model_tokens_total",
			Help: "Tokens used, by provider and kind (prompt, completion)."}, []string{"provider", "kind"}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(r.latency, r.tokens)
	}
	return r
}

type resilient struct {
	m       model.ToolCallingChatModel
	o       ModelOptions
	latency *prometheus.HistogramVec
	tokens  *prometheus.CounterVec
}

func (r *resilient) WithTools(tools []*schema.ToolInfo) (model.ToolCallingChatModel, error) {
	m, err := r.m.WithTools(tools)
	if err != nil {
		return nil, err
	}
	cp := *r
	cp.m = m
	return &cp, nil
}

// Retryable says whether a model error is worth another try.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	s := strings.ToLower(err.Error())
	for _, m := range []string{"429", "rate limit", "status code: 5", "status code 5", "500", "502", "503", "504", "timeout",
		"connection reset", "connection refused", "eof", "overloaded"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// backoff waits before retry number try (none before the first) and doubles the delay.
func backoff(ctx context.Context, try int, delay *time.Duration) error {
	if try == 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(*delay):
	}
	*delay *= 2
	return nil
}

func (r *resilient) Generate(ctx context.Context, in []*schema.Message, opts ...model.Option) (*schema.Message, error) {
	var last error
	delay := r.o.Backoff
	for try := 0; try <= r.o.MaxRetries; try++ {
		if err := backoff(ctx, try, &delay); err != nil {
			return nil, err
		}
		start := time.Now()
		msg, err := r.m.Generate(ctx, in, opts...)
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		r.latency.WithLabelValues(r.o.Provider, outcome).Observe(time.Since(start).Seconds())
		if err == nil {
			if msg.ResponseMeta != nil && msg.ResponseMeta.Usage != nil {
				r.tokens.WithLabelValues(r.o.Provider, "prompt").Add(float64(msg.ResponseMeta.Usage.PromptTokens))
				r.tokens.WithLabelValues(r.o.Provider, "completion").Add(float64(msg.ResponseMeta.Usage.CompletionTokens))
			}
			return msg, nil
		}
		last = err
		if !Retryable(err) {
			break
		}
	}
	return nil, fmt.Errorf("model %s: %w", r.o.Provider, last)
}

func (r *resilient) Stream(ctx context.Context, in []*schema.Message, opts ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	var last error
	delay := r.o.Backoff
	for try := 0; try <= r.o.MaxRetries; try++ {
		if err := backoff(ctx, try, &delay); err != nil {
			return nil, err
		}
		start := time.Now()
		sr, err := r.m.Stream(ctx, in, opts...)
		if err == nil {
			return r.observe(sr, start), nil
		}
		r.latency.WithLabelValues(r.o.Provider, "error").Observe(time.Since(start).Seconds())
		last = err
		if !Retryable(err) {
			break
		}
	}
	return nil, fmt.Errorf("model %s: %w", r.o.Provider, last)
}

// observe passes a stream through, recording its latency (to the last chunk) and token usage
// (the last usage a chunk reports) as Generate does.
func (r *resilient) observe(sr *schema.StreamReader[*schema.Message], start time.Time) *schema.StreamReader[*schema.Message] {
	out, w := schema.Pipe[*schema.Message](16)
	go func() {
		defer sr.Close()
		defer w.Close()
		outcome := "ok"
		var usage *schema.TokenUsage
		for {
			m, err := sr.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				outcome = "error"
				w.Send(nil, err)
				break
			}
			if m != nil && m.ResponseMeta != nil && m.ResponseMeta.Usage != nil {
				usage = m.ResponseMeta.Usage
			}
			if closed := w.Send(m, nil); closed {
				break
			}
		}
		r.latency.WithLabelValues(r.o.Provider, outcome).Observe(time.Since(start).Seconds())
		if usage != nil {
			r.tokens.WithLabelValues(r.o.Provider, "prompt").Add(float64(usage.PromptTokens))
			r.tokens.WithLabelValues(r.o.Provider, "completion").Add(float64(usage.CompletionTokens))
		}
	}()
	return out
}
