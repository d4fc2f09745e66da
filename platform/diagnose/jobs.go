package diagnose

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// jobs: failed jobs, suspended cron jobs.
func (a *analysis) jobs() {
	for _, j := range a.s.Jobs {
		if !a.has("job/" + j.Name) {
			continue
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				a.add(Finding{Severity: Critical, Resource: "job/" + j.Name, Reason: "job failed: " + joinNonEmpty(c.Reason, truncate(c.Message, 200)),
					Evidence: a.warnings("Job", j.Name, 2), Suggestion: "read the failed pods' logs; fix and rerun"})
			}
		}
	}
	for _, cj := range a.s.CronJobs {
		if !a.has("cronjob/" + cj.Name) {
			continue
		}
		if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
			last := "never"
			if cj.Status.LastScheduleTime != nil {
				last = cj.Status.LastScheduleTime.UTC().Format(metav1.RFC3339Micro)
			}
			a.add(Finding{Severity: Warning, Resource: "cronjob/" + cj.Name, Reason: fmt.Sprintf("suspended (spec.suspend: true): no job runs on its schedule %q", cj.Spec.Schedule),
				Evidence: []string{"last scheduled " + last}, Suggestion: "unsuspend it when it should run again"})
		}
	}
}
