package diagnose

import (
	"fmt"
)

// statefulSets: missing governing services, unavailable replicas.
func (a *analysis) statefulSets() {
	svcs := map[string]bool{}
	for _, s := range a.s.Services {
		svcs[s.Name] = true
	}
	for _, st := range a.s.StatefulSets {
		res := "statefulset/" + st.Name
		if !a.has(res) {
			continue
		}
		app := a.w.appOf[res]
		if st.Spec.ServiceName != "" && !svcs[st.Spec.ServiceName] {
			a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: fmt.Sprintf("governing service %s does not exist: pods get no stable DNS names", st.Spec.ServiceName),
				Suggestion: "create the headless service the StatefulSet names"})
		}
		want := int32(1)
		if st.Spec.Replicas != nil {
			want = *st.Spec.Replicas
		}
		if want > 0 && st.Status.ReadyReplicas < want && st.Status.ObservedGeneration >= st.Generation {
			a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: fmt.Sprintf("%d of %d replicas not ready", want-st.Status.ReadyReplicas, want),
				Evidence:   a.workloadEvents(res, 3),
				Suggestion: "see the pod and volume findings: StatefulSet pods start in order and wait for their volumes", symptom: true})
		}
	}
}
