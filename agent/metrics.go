package agent

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	turns     prometheus.Counter
	toolCalls *prometheus.CounterVec
	approvals *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		turns: prometheus.NewCounter(prometheus.CounterOpts{Name: "k8sm_agent_turns_total", Help: "Chat turns started."}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8sm_agent_tool_calls_total",
			Help: "Tool calls executed, by tool and outcome."}, []string{"tool", "outcome"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8sm_agent_approvals_total",
			Help: "Approval requests by outcome (requested, approved, rejected, expired)."}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.turns, m.toolCalls, m.approvals)
	}
	return m
}
