package diagnose

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"k8s-manage/platform/perr"
)

// deployments: stalled rollouts, pods the ReplicaSet cannot create (quota), unavailable replicas.
func (a *analysis) deployments() {
	for _, d := range a.s.Deployments {
		res := "deployment/" + d.Name
		if !a.has(res) {
			continue
		}
		app := a.w.appOf[res]
		handled := false
		for _, c := range d.Status.Conditions {
			switch {
			case c.Type == "Progressing" && c.Reason == "ProgressDeadlineExceeded":
				a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: "rollout stalled (ProgressDeadlineExceeded): the new version's pods do not become ready",
					Evidence: []string{truncate(c.Message, 300)}, Suggestion: "fix the new pods (see their findings) or roll back",
					Action: Rollback, Args: map[string]any{"app": app}, symptom: true})
				handled = true
			case c.Type == "ReplicaFailure" && c.Status == corev1.ConditionTrue:
				if strings.Contains(c.Message, "exceeded quota") {
					a.add(Finding{Severity: Critical, Resource: res, App: app,
						Reason:   fmt.Sprintf("exceeded quota %s: pods cannot be created (%s)", quotaName(c.Message), strings.Join(perr.QuotaMessageResources(c.Message), ", ")),
						Evidence: []string{truncate(c.Message, 400)}, Suggestion: "scale something down, lower requests, or ask a tenant admin to raise the quota",
						Action: ShowQuota, Args: map[string]any{}})
				} else {
					// Admission refused the pods; a reference check usually names why (a missing
					// ServiceAccount or PriorityClass), and this message is then its evidence.
					a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: "pods cannot be created (FailedCreate): " + truncate(c.Message, 300),
						Evidence: a.workloadEvents(res, 2), Suggestion: "read the message: admission refused the pods", symptom: true})
				}
				handled = true
			}
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if !handled && want > 0 && d.Status.AvailableReplicas < want && d.Status.ObservedGeneration >= d.Generation {
			a.add(Finding{Severity: Warning, Resource: res, App: app,
				Reason:     fmt.Sprintf("%d of %d replicas unavailable", want-d.Status.AvailableReplicas, want),
				Evidence:   a.workloadEvents(res, 3),
				Suggestion: "see the pod findings for why they are not ready", symptom: true})
		}
	}
}

var quotaNameRe = regexp.MustCompile(`exceeded quota: ([a-z0-9.-]+)`)

// quotaName is the ResourceQuota a FailedCreate message names.
func quotaName(msg string) string {
	if m := quotaNameRe.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return "(the namespace's ResourceQuota)"
}

func (a *analysis) podsMatching(sel map[string]string) []corev1.Pod {
	if len(sel) == 0 {
		return nil
	}
	s := labels.SelectorFromSet(sel)
	var out []corev1.Pod
	for _, p := range a.s.Pods {
		if s.Matches(labels.Set(p.Labels)) && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// workloadEvents are the warning events of a workload, its ReplicaSets and its first pods (the
// ReplicaSet's FailedCreate, the kubelet's CreateContainerConfigError).
func (a *analysis) workloadEvents(key string, max int) []string {
	kind, name, _ := strings.Cut(key, "/")
	objKind := map[string]string{"deployment": "Deployment", "statefulset": "StatefulSet", "job": "Job", "cronjob": "CronJob", "pod": "Pod"}[kind]
	out := slices.Clone(a.events[objKind+"/"+name])
	for _, rs := range slices.Sorted(maps.Keys(a.w.rsOwner)) {
		if a.w.rsOwner[rs] == key {
			out = append(out, a.events["ReplicaSet/"+rs]...)
		}
	}
	for n, i := range a.w.podsOf[key] {
		if n == 2 {
			break
		}
		out = append(out, a.events["Pod/"+a.s.Pods[i].Name]...)
	}
	out = slices.Compact(out)
	return out[:min(len(out), max)]
}
