package diagnose

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ContainerUsage is what a container uses now (the metrics API): CPU in millicores, memory in
// bytes.
type ContainerUsage struct {
	CPUMilli    int64
	MemoryBytes int64
}

// The share of a limit at which usage is reported.
const (
	cpuAtLimit     = 0.9 // CFS throttles a container that runs at its CPU limit: it slows down
	memoryNearFull = 0.9 // past its memory limit a container is OOM-killed
)

// usage: containers that run at their CPU limit (throttled: slow) or near their memory limit
// (about to be OOM-killed), from Snapshot.Usage; one finding per app and resource, naming how
// many of its pods and the worst one.
func (a *analysis) usage() {
	if len(a.s.Usage) == 0 {
		return
	}
	type hit struct {
		pod, container string
		used, limit    int64
	}
	type group struct {
		app, res string
		cpu, mem []hit
		pods     int
	}
	groups := map[string]*group{}
	var order []string
	for _, p := range a.s.Pods {
		key := "pod/" + p.Name
		if !a.has(key) || p.Status.Phase != corev1.PodRunning {
			continue
		}
		used, ok := a.s.Usage[p.Name]
		if !ok {
			continue
		}
		app := a.w.appOf[key]
		res := cmp.Or(a.ownerWorkload(p), key)
		g := groups[res]
		if g == nil {
			g = &group{app: app, res: res}
			groups[res] = g
			order = append(order, res)
		}
		g.pods++
		for _, c := range p.Spec.Containers {
			u, ok := used[c.Name]
			if !ok {
				continue
			}
			if lim, ok := c.Resources.Limits[corev1.ResourceCPU]; ok && lim.MilliValue() > 0 && float64(u.CPUMilli) >= cpuAtLimit*float64(lim.MilliValue()) {
				g.cpu = append(g.cpu, hit{p.Name, c.Name, u.CPUMilli, lim.MilliValue()})
			}
			if lim, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && lim.Value() > 0 && float64(u.MemoryBytes) >= memoryNearFull*float64(lim.Value()) {
				g.mem = append(g.mem, hit{p.Name, c.Name, u.MemoryBytes, lim.Value()})
			}
		}
	}
	worst := func(hs []hit) hit {
		return slices.MaxFunc(hs, func(x, y hit) int {
			return cmp.Compare(float64(x.used)/float64(x.limit), float64(y.used)/float64(y.limit))
		})
	}
	evidence := func(hs []hit, format func(int64) string) []string {
		var out []string
		for i, h := range hs {
			if i == 3 {
				out = append(out, fmt.Sprintf("… %d more", len(hs)-3))
				break
			}
			out = append(out, fmt.Sprintf("pod %s container %s uses %s of its %s limit (%d%%)", h.pod, h.container, format(h.used), format(h.limit), h.used*100/h.limit))
		}
		return out
	}
	for _, res := range order {
		g := groups[res]
		if len(g.cpu) > 0 {
			w := worst(g.cpu)
			a.add(Finding{Severity: Warning, Resource: g.res, App: g.app,
				Reason: fmt.Sprintf("CPU at its limit in %d of %d pods (%s of %s, %d%%): the containers are throttled, so requests are served slower",
					len(g.cpu), g.pods, milli(w.used), milli(w.limit), w.used*100/w.limit),
				Evidence:   evidence(g.cpu, milli),
				Suggestion: "raise the CPU limit (update_app resources) or add replicas / an autoscaler so each pod gets less load"})
		}
		if len(g.mem) > 0 {
			w := worst(g.mem)
			a.add(Finding{Severity: Warning, Resource: g.res, App: g.app,
				Reason: fmt.Sprintf("memory near its limit in %d of %d pods (%s of %s, %d%%): a container that grows past it is OOM-killed",
					len(g.mem), g.pods, mib(w.used), mib(w.limit), w.used*100/w.limit),
				Evidence:   evidence(g.mem, mib),
				Suggestion: "raise the memory limit (update_app resources), or find what holds the memory"})
		}
	}
}

// ownerWorkload is the Deployment or StatefulSet ("deployment/web") a pod belongs to, when the
// snapshot holds it; "" otherwise.
func (a *analysis) ownerWorkload(p corev1.Pod) string {
	for _, ref := range p.OwnerReferences {
		switch ref.Kind {
		case "ReplicaSet":
			for _, rs := range a.s.ReplicaSets {
				if rs.Name != ref.Name {
					continue
				}
				for _, o := range rs.OwnerReferences {
					if o.Kind == "Deployment" {
						return "deployment/" + o.Name
					}
				}
			}
			if i := strings.LastIndex(ref.Name, "-"); i > 0 { // ReplicaSets unreadable: name-hash
				for _, d := range a.s.Deployments {
					if d.Name == ref.Name[:i] {
						return "deployment/" + d.Name
					}
				}
			}
		case "StatefulSet":
			return "statefulset/" + ref.Name
		}
	}
	return ""
}

func milli(m int64) string {
	if m%1000 == 0 {
		return fmt.Sprintf("%d", m/1000)
	}
	return fmt.Sprintf("%dm", m)
}

func mib(b int64) string { return fmt.Sprintf("%dMi", (b+1<<19)>>20) }
