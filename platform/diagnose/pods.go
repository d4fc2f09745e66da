package diagnose

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// pods: crash loops with exit codes, OOMKilled, image pulls, config errors, probes, scheduling.
func (a *analysis) pods() {
	for _, p := range a.s.Pods {
		if p.Status.Phase == corev1.PodSucceeded || p.DeletionTimestamp != nil || !a.has("pod/"+p.Name) {
			continue
		}
		app := a.w.appOf["pod/"+p.Name]
		f, ok := a.podFinding(&p)
		if !ok {
			continue
		}
		f.App = app
		key := app + "|" + f.Reason
		if i, seen := a.grouped[key]; seen && app != "" {
			g := &a.findings[i]
			g.Evidence = append(g.Evidence[:min(len(g.Evidence), 6)], "also pod "+p.Name)
			continue
		}
		a.grouped[key] = len(a.findings)
		a.add(f)
	}
}

func (a *analysis) podFinding(p *corev1.Pod) (Finding, bool) {
	res := "pod/" + p.Name
	app := a.w.appOf[res]
	ev := a.warnings("Pod", p.Name, 3)
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, c := range statuses {
		last := c.LastTerminationState.Terminated
		exit := ""
		if last != nil {
			exit = fmt.Sprintf("last exit code %d (%s)", last.ExitCode, last.Reason)
		}
		if w := c.State.Waiting; w != nil {
			switch w.Reason {
			case "CrashLoopBackOff":
				return crashFinding(p, c, app, res, exit, ev), true
			case "ImagePullBackOff", "ErrImagePull", "InvalidImageName":
				return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("%s: image %s cannot be pulled", w.Reason, c.Image),
					Evidence:   append([]string{truncate(w.Message, 300)}, ev...),
					Suggestion: "check the image name and tag exist in the registry and the pull credentials; or roll back to the last good image",
					Action:     Rollback, Args: map[string]any{"app": app}}, true
			case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				// The reference check names the missing object; this is what the kubelet saw of it.
				return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("%s: %s", w.Reason, truncate(w.Message, 200)),
					Evidence:   ev,
					Suggestion: "create the missing ConfigMap/Secret (or key) the pod references, or fix the reference", symptom: true}, true
			}
		}
		// Between two crashes the container runs for a moment: restarts with a failed last exit
		// that ended recently are the same crash loop.
		if c.State.Running != nil && last != nil && c.RestartCount > 0 && (last.ExitCode != 0 || last.Reason == "OOMKilled") &&
			a.now.Sub(last.FinishedAt.Time) < 10*time.Minute {
			return crashFinding(p, c, app, res, exit, ev), true
		}
		if t := c.State.Terminated; t != nil && t.Reason == "OOMKilled" {
			return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("OOMKilled: container %s exceeded its memory limit (exit code 137)", c.Name),
				Evidence: ev, Suggestion: "raise the memory limit or reduce memory use"}, true
		}
	}
	if p.Status.Phase == corev1.PodPending {
		if f, ok := a.unschedulable(p, res, ev); ok {
			return f, true
		}
	}
	if p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted" {
		return Finding{Severity: Warning, Resource: res, Reason: "evicted: " + truncate(p.Status.Message, 200),
			Suggestion: "set requests close to real use and keep local disk writes bounded; check node pressure"}, true
	}
	if p.Status.Phase == corev1.PodRunning && !podReady(p) {
		reason := "running but not ready"
		for _, e := range ev {
			if strings.Contains(e, "Unhealthy") {
				reason = "readiness probe failing"
			}
		}
		return Finding{Severity: Warning, Resource: res, Reason: reason, Evidence: ev,
			Suggestion: "check the readiness probe's path, port and timing against the app, and the app's log; unready pods get no traffic"}, true
	}
	return Finding{}, false
}

// crashFinding names a crash loop: OOMKilled (exit 137) or the exit code with its meaning.
func crashFinding(p *corev1.Pod, c corev1.ContainerStatus, app, res, exit string, ev []string) Finding {
	last := c.LastTerminationState.Terminated
	if last != nil && (last.Reason == "OOMKilled" || last.ExitCode == 137) {
		return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("OOMKilled: container %s exceeded its memory limit (exit code 137)", c.Name),
			Evidence:   append([]string{fmt.Sprintf("restarts %d, %s, memory limit %s", c.RestartCount, exit, memLimit(p, c.Name))}, ev...),
			Suggestion: "raise the container's memory limit (and request), or find the leak: the previous container's log shows what it was doing",
			Action:     ReadLogs, Args: map[string]any{"pod": p.Name, "previous": true}}
	}
	return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("CrashLoopBackOff: container %s keeps exiting (%s)", c.Name, cmp.Or(exit, "no exit code yet")),
		Evidence:   append([]string{fmt.Sprintf("restarts %d", c.RestartCount), exitMeaning(last)}, ev...),
		Suggestion: "read the previous container's log for the error; if the last release caused it, roll back",
		Action:     Rollback, Args: map[string]any{"app": app}}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func memLimit(p *corev1.Pod, container string) string {
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				return q.String()
			}
		}
	}
	return "not set (namespace default)"
}

func exitMeaning(t *corev1.ContainerStateTerminated) string {
	if t == nil {
		return ""
	}
	switch code := t.ExitCode; {
	case code == 1:
		return "exit 1: the application failed (see its log)"
	case code == 2:
		return "exit 2: misuse of a shell command or bad arguments"
	case code == 126:
		return "exit 126: the command is not executable"
	case code == 127:
		return "exit 127: command not found in the image"
	case code == 137:
		return "exit 137: killed (SIGKILL), usually out of memory"
	case code == 139:
		return "exit 139: segmentation fault"
	case code == 143:
		return "exit 143: terminated (SIGTERM)"
	case code > 128:
		return fmt.Sprintf("exit %d: killed by signal %d", code, code-128)
	default:
		return fmt.Sprintf("exit %d", code)
	}
}
