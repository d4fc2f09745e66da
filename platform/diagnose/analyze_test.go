package diagnose_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/diagnose"
)

// A crash-looping container caught in the moment it runs between two crashes is still a crash
// loop (kubectl shows Running with restarts); an old restart after a long healthy run is not.
func TestCrashLoopBetweenCrashes(t *testing.T) {
	pod := func(name string, exit int32, reason string, finished time.Time) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "t-dev", Labels: map[string]string{"app.kubernetes.io/name": name}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, RestartCount: 3,
					State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Reason: reason, FinishedAt: metav1.NewTime(finished)}}}}}}
	}
	for _, tc := range []struct {
		pod  corev1.Pod
		want string
	}{
		{pod("crashy", 1, "Error", time.Now().Add(-5*time.Second)), "CrashLoopBackOff: container app keeps exiting (last exit code 1 (Error))"},
		{pod("hungry", 137, "OOMKilled", time.Now().Add(-5*time.Second)), "OOMKilled"},
		{pod("healed", 1, "Error", time.Now().Add(-2*time.Hour)), ""},
		{pod("clean", 0, "Completed", time.Now().Add(-5*time.Second)), ""},
	} {
		rep := diagnose.Analyze(&diagnose.Snapshot{Pods: []corev1.Pod{tc.pod}}, diagnose.Scope{Namespace: "t-dev", App: tc.pod.Name})
		got := ""
		for _, f := range rep.Findings {
			if f.Resource == "pod/"+tc.pod.Name {
				got = f.Reason
			}
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: finding %q, want %q", tc.pod.Name, got, tc.want)
		}
	}
}

// A shared quota nearly used is a context note in an app's diagnosis: kept in the findings, but
// neither the summary's cause nor counted as a problem; a namespace diagnosis still reports it.
func TestQuotaNoteIsContextForAnApp(t *testing.T) {
	hard, used := resource.MustParse("10"), resource.MustParse("9500m")
	snap := &diagnose.Snapshot{
		Pods: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "t-dev", Labels: map[string]string{"app.kubernetes.io/name": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}},
		Quotas: []corev1.ResourceQuota{{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "t-dev"},
			Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{corev1.ResourceLimitsCPU: hard}, Used: corev1.ResourceList{corev1.ResourceLimitsCPU: used}}}},
	}
	rep := diagnose.Analyze(snap, diagnose.Scope{Namespace: "t-dev", App: "web"})
	if !strings.HasPrefix(rep.Summary, "no problems found") || len(rep.Findings) != 1 || !rep.Findings[0].Context {
		t.Fatalf("app diagnosis: %q %+v", rep.Summary, rep.Findings)
	}
	ns := diagnose.Analyze(snap, diagnose.Scope{Namespace: "t-dev"})
	if !strings.Contains(ns.Summary, "quota nearly used") || ns.Findings[0].Context {
		t.Fatalf("namespace diagnosis: %q %+v", ns.Summary, ns.Findings)
	}
}

// A config change a few minutes before the first crash is named with its author and time, and
// its revert is the proposed fix; a change long before, or to another app, is not.
func TestConfigChangeBeforeTheCrash(t *testing.T) {
	crashAt := time.Now().Add(-time.Minute)
	snap := func(changes ...diagnose.Change) *diagnose.Snapshot {
		return &diagnose.Snapshot{
			Pods: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "api-0", Namespace: "t-dev", Labels: map[string]string{"app": "api"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: 4,
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}}}},
			Events: []corev1.Event{{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "api-0"}, Type: corev1.EventTypeWarning, Reason: "BackOff",
				Message: "Back-off restarting failed container", FirstTimestamp: metav1.NewTime(crashAt)}},
			Changes: changes,
		}
	}
	change := func(app string, before time.Duration) diagnose.Change {
		return diagnose.Change{At: crashAt.Add(-before), Who: "dev@example.com", App: app, Kind: "config",
			What:   `config DB_HOST of ` + app + ` changed from "db-1" to "db-2" (version 3)`,
			Action: diagnose.RestoreValue, Args: map[string]any{"app": app, "key": "DB_HOST", "value": "db-1"}}
	}
	rep := diagnose.Analyze(snap(change("api", 4*time.Minute)), diagnose.Scope{Namespace: "t-dev", App: "api"})
	top := rep.Findings[0]
	if top.LikelyChange == nil || top.Action != diagnose.RestoreValue || top.Args["value"] != "db-1" {
		t.Fatalf("likely change %+v, proposal %s %v", top.LikelyChange, top.Action, top.Args)
	}
	ev := strings.Join(top.Evidence, "\n")
	if !strings.Contains(ev, "DB_HOST") || !strings.Contains(ev, "by dev@example.com, 4 min before the first BackOff") {
		t.Fatalf("evidence does not name the change, its author and its time: %s", ev)
	}
	for _, c := range []diagnose.Change{change("api", 3*time.Hour), change("billing", 4*time.Minute), change("api", -10*time.Minute)} {
		rep := diagnose.Analyze(snap(c), diagnose.Scope{Namespace: "t-dev", App: "api"})
		if lc := rep.Findings[0].LikelyChange; lc != nil {
			t.Errorf("a change %s (%s) was named the likely cause", c.At.Sub(crashAt), c.App)
		}
	}
}

// A missing reference shows what does exist, nearest first, so a typo is plain.
func TestMissingReferenceShowsWhatExists(t *testing.T) {
	one := int32(1)
	labels := map[string]string{"app": "api"}
	snap := &diagnose.Snapshot{
		ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "api-config"}}, {ObjectMeta: metav1.ObjectMeta{Name: "nginx-conf"}}},
		Deployments: []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Name: "api", Labels: labels},
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "x",
					EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "api-confg"}}}}}}}}}}},
	}
	rep := diagnose.Analyze(snap, diagnose.Scope{Namespace: "t-dev", App: "api"})
	if len(rep.Findings) == 0 {
		t.Fatal("no finding for a missing ConfigMap")
	}
	top := rep.Findings[0]
	if !strings.Contains(top.Reason, "ConfigMap api-confg does not exist") || !strings.Contains(strings.Join(top.Evidence, "\n"), "did you mean ConfigMap api-config?") {
		t.Fatalf("top finding %q, evidence %q", top.Reason, top.Evidence)
	}
}

// A secret that could not be read is no verdict; only one that does not exist is a cause.
func TestUnreadableSecretIsNoVerdict(t *testing.T) {
	one := int32(1)
	labels := map[string]string{"app": "api"}
	ref := corev1.EnvVar{Name: "T", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "api-token"}, Key: "token"}}}
	snap := func(err error) *diagnose.Snapshot {
		return &diagnose.Snapshot{
			SecretKeys: func(string) ([]string, error) { return nil, err },
			Deployments: []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Name: "api", Labels: labels},
				Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "x", Env: []corev1.EnvVar{ref}}}}}}}},
		}
	}
	for _, f := range diagnose.Analyze(snap(errors.New("etcd timeout")), diagnose.Scope{Namespace: "t-dev", App: "api"}).Findings {
		if strings.Contains(f.Reason, "Secret") {
			t.Fatalf("an unreadable secret was reported: %s", f.Reason)
		}
	}
	rep := diagnose.Analyze(snap(diagnose.ErrNotFound), diagnose.Scope{Namespace: "t-dev", App: "api"})
	if len(rep.Findings) == 0 || !strings.Contains(rep.Findings[0].Reason, "Secret api-token does not exist") {
		t.Fatalf("a missing secret was not reported: %+v", rep.Findings)
	}
}
