package agent

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	turns     prometheus.Counter
	toolCalls *prometheus.CounterVec
	approvals *prometheus.CounterVec
}

// newMetrics registers the agent's metrics; pending counts the approval backlog at scrape time.
func newMetrics(reg prometheus.Registerer, pending func(context.Context) (int, error)) *metrics {
	m := &metrics{
		turns: prometheus.NewCounter(prometheus.CounterOpts{Name: "k8sm_agent_turns_total", Help: "Chat turns started."}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8sm_agent_tool_calls_total",
			Help: "Tool calls executed, by tool and outcome."}, []string{"tool", "outcome"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8sm_agent_approvals_total",
			Help: "Approval requests by outcome (requested, approved, rejected, expired)."}, []string{"outcome"}),
	}
	if reg != nil {
		backlog := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "k8sm_approvals_pending",
			Help: "Approval requests waiting for a decision (shared store: the same on every replica)."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := pending(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		})
		reg.MustRegister(m.turns, m.toolCalls, m.approvals, backlog)
	}
	return m
}
