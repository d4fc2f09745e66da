package diagnose

import (
	"fmt"
)

// quotas: resources at or near their hard limit.
func (a *analysis) quotas() {
	for _, q := range a.s.Quotas {
		for name, hard := range q.Status.Hard {
			used := q.Status.Used[name]
			if hard.MilliValue() <= 0 {
				continue
			}
			pct := float64(used.MilliValue()) * 100 / float64(hard.MilliValue())
			switch {
			case pct >= 100:
				a.add(Finding{Severity: Warning, Resource: "resourcequota/" + q.Name, Reason: fmt.Sprintf("quota exhausted for %s (%s of %s)", name, used.String(), hard.String()),
					Suggestion: "new pods needing it are refused: free some or raise the quota", Action: ShowQuota, Args: map[string]any{}})
			case pct >= 90:
				a.add(Finding{Severity: Info, Resource: "resourcequota/" + q.Name, Reason: fmt.Sprintf("quota nearly used for %s (%.0f%%)", name, pct),
					Suggestion: "plan for more quota before the next scale-up"})
			}
		}
	}
}
