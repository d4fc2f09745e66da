package diagnose

import (
	"cmp"
	"net/url"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The scope of a diagnosis follows the wiring of what was asked about: a workload's pods (by
// owner, or by selector), the Services that select them and their EndpointSlices, the
// Ingresses that send to those Services or carry the app's name, the HPAs that target the
// workload, the PDBs and NetworkPolicies that select its pods, and the PVCs they mount. An
// Ingress host, a Service, a PVC or a pod leads back to the same set.

// wiring relates the namespace's objects; it is built once per analysis.
type wiring struct {
	s        *Snapshot
	owner    map[string]string   // "pod/x" -> "deployment/y" | "statefulset/y" | "job/y" | "cronjob/y"
	podsOf   map[string][]int    // workload key -> indices into s.Pods
	tmpl     map[string]tmplInfo // workload key -> its pod template
	appOf    map[string]string   // resource key -> app name
	services map[string]int      // service name -> index into s.Services
	rsOwner  map[string]string   // ReplicaSet name -> "deployment/y"
}

type tmplInfo struct {
	labels map[string]string
	spec   *corev1.PodSpec
}

// appName is what people call a workload: its app.kubernetes.io/name label, else its app
// label, else its name.
func appName(l map[string]string, fallback string) string {
	return cmp.Or(l[appLabel], l["app"], fallback)
}

func newWiring(s *Snapshot) *wiring {
	w := &wiring{s: s, owner: map[string]string{}, podsOf: map[string][]int{}, tmpl: map[string]tmplInfo{}, appOf: map[string]string{},
		services: map[string]int{}, rsOwner: map[string]string{}}
	for _, rs := range s.ReplicaSets {
		if c := metav1.GetControllerOf(&rs); c != nil && c.Kind == "Deployment" {
			w.rsOwner[rs.Name] = "deployment/" + c.Name
		}
	}
	jobOwner := map[string]string{}
	for _, j := range s.Jobs {
		key := "job/" + j.Name
		if c := metav1.GetControllerOf(&j); c != nil && c.Kind == "CronJob" {
			jobOwner[j.Name] = "cronjob/" + c.Name
		}
		w.tmpl[key] = tmplInfo{j.Spec.Template.Labels, &j.Spec.Template.Spec}
		w.appOf[key] = appName(j.Labels, j.Name)
	}
	for i := range s.Deployments {
		d := &s.Deployments[i]
		key := "deployment/" + d.Name
		w.tmpl[key] = tmplInfo{d.Spec.Template.Labels, &d.Spec.Template.Spec}
		w.appOf[key] = appName(d.Labels, d.Name)
	}
	for i := range s.StatefulSets {
		st := &s.StatefulSets[i]
		key := "statefulset/" + st.Name
		w.tmpl[key] = tmplInfo{st.Spec.Template.Labels, &st.Spec.Template.Spec}
		w.appOf[key] = cmp.Or(st.Labels["k8s-manage.io/service-instance"], appName(st.Labels, st.Name))
	}
	for i := range s.CronJobs {
		cj := &s.CronJobs[i]
		key := "cronjob/" + cj.Name
		w.tmpl[key] = tmplInfo{cj.Spec.JobTemplate.Spec.Template.Labels, &cj.Spec.JobTemplate.Spec.Template.Spec}
		w.appOf[key] = appName(cj.Labels, cj.Name)
	}
	for i := range s.Pods {
		p := &s.Pods[i]
		key := "pod/" + p.Name
		owner := ""
		if c := metav1.GetControllerOf(p); c != nil {
			switch c.Kind {
			case "ReplicaSet":
				owner = w.rsOwner[c.Name]
			case "StatefulSet":
				owner = "statefulset/" + c.Name
			case "Job":
				owner = cmp.Or(jobOwner[c.Name], "job/"+c.Name)
			}
		}
		if owner == "" { // no owner known: the workload that selects it
			owner = w.selectingWorkload(p.Labels)
		}
		w.owner[key] = owner
		if owner != "" {
			w.podsOf[owner] = append(w.podsOf[owner], i)
			w.appOf[key] = w.appOf[owner]
		} else {
			w.appOf[key] = appName(p.Labels, "")
		}
	}
	for i, svc := range s.Services {
		w.services[svc.Name] = i
		w.appOf["service/"+svc.Name] = appName(svc.Labels, "")
	}
	// A service is the app of the pods it selects (or of the workload whose template it selects).
	for _, svc := range s.Services {
		key := "service/" + svc.Name
		for _, k := range w.selected(svc.Spec.Selector) {
			if a := w.appOf[k]; a != "" {
				w.appOf[key] = a
				break
			}
		}
		w.appOf[key] = cmp.Or(w.appOf[key], svc.Name)
	}
	for _, ing := range s.Ingresses {
		key := "ingress/" + ing.Name
		for _, b := range backends(&ing) {
			if i, ok := w.services[b.Name]; ok {
				w.appOf[key] = w.appOf["service/"+s.Services[i].Name]
				break
			}
		}
		w.appOf[key] = cmp.Or(w.appOf[key], appName(ing.Labels, ing.Name))
	}
	for _, c := range s.PVCs {
		w.appOf["persistentvolumeclaim/"+c.Name] = appName(c.Labels, "")
	}
	for i := range s.Pods {
		for _, v := range s.Pods[i].Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				k := "persistentvolumeclaim/" + v.PersistentVolumeClaim.ClaimName
				w.appOf[k] = cmp.Or(w.appOf["pod/"+s.Pods[i].Name], w.appOf[k])
			}
		}
	}
	for _, h := range s.HPAs {
		t := strings.ToLower(h.Spec.ScaleTargetRef.Kind) + "/" + h.Spec.ScaleTargetRef.Name
		w.appOf["horizontalpodautoscaler/"+h.Name] = cmp.Or(w.appOf[t], appName(h.Labels, h.Spec.ScaleTargetRef.Name))
	}
	return w
}

// selectingWorkload is the workload whose selector matches a pod's labels (pods read before
// their ReplicaSets, or a ReplicaSet the person may not list).
func (w *wiring) selectingWorkload(l map[string]string) string {
	for i := range w.s.Deployments {
		d := &w.s.Deployments[i]
		if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(labels.Set(l)) {
			return "deployment/" + d.Name
		}
	}
	for i := range w.s.StatefulSets {
		st := &w.s.StatefulSets[i]
		if sel, err := metav1.LabelSelectorAsSelector(st.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(labels.Set(l)) {
			return "statefulset/" + st.Name
		}
	}
	return ""
}

// selected are the pods a label selector matches, or the workloads whose pod template it
// matches when they have no pods (a Deployment that cannot create any).
func (w *wiring) selected(sel map[string]string) []string {
	if len(sel) == 0 {
		return nil
	}
	s := labels.SelectorFromSet(sel)
	var out []string
	for _, p := range w.s.Pods {
		if p.DeletionTimestamp == nil && s.Matches(labels.Set(p.Labels)) {
			out = append(out, "pod/"+p.Name)
		}
	}
	for key, t := range w.tmpl {
		if len(w.podsOf[key]) == 0 && s.Matches(labels.Set(t.labels)) {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// selects says whether a LabelSelector (a PDB's, a NetworkPolicy's) matches a workload's pods.
func (w *wiring) selects(sel *metav1.LabelSelector, key string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return false
	}
	if t, ok := w.tmpl[key]; ok {
		return s.Matches(labels.Set(t.labels))
	}
	for _, p := range w.s.Pods {
		if "pod/"+p.Name == key {
			return s.Matches(labels.Set(p.Labels))
		}
	}
	return false
}

// resolve turns the asked scope into the resource keys to start from; the name it could not
// place is returned.
func (w *wiring) resolve(sc Scope) (seeds []string, unresolved string) {
	if sc.Pod != "" {
		if seeds = w.byName(sc.Pod, true); len(seeds) == 0 {
			return nil, sc.Pod
		}
		return seeds, ""
	}
	name := cmp.Or(sc.App, sc.Target)
	if name == "" {
		return nil, ""
	}
	if seeds = w.byName(name, sc.App == ""); len(seeds) == 0 {
		return nil, name
	}
	return seeds, ""
}

// byName finds what a name means: a workload or app first, then (unless only apps are asked
// for) a pod, a service, an ingress or its host, a PVC, an HPA.
func (w *wiring) byName(name string, anything bool) []string {
	n := strings.ToLower(strings.TrimSpace(name))
	if u, err := url.Parse(n); err == nil && u.Host != "" { // "https://shop.example.com/cart"
		n = u.Hostname()
	}
	n = strings.TrimSuffix(n, "/")
	var out []string
	for key := range w.tmpl {
		_, wname, _ := strings.Cut(key, "/")
		if wname == n || w.appOf[key] == n {
			out = append(out, key)
		}
	}
	for _, p := range w.s.Pods { // pods of no workload that carry the app's name
		if w.owner["pod/"+p.Name] == "" && (appName(p.Labels, "") == n || p.Name == n) {
			out = append(out, "pod/"+p.Name)
		}
	}
	for _, svc := range w.s.Services { // the app's Service and Ingress by name, whatever they select
		if svc.Name == n {
			out = append(out, "service/"+n)
		}
	}
	for _, ing := range w.s.Ingresses {
		if ing.Name == n || appName(ing.Labels, "") == n {
			out = append(out, "ingress/"+ing.Name)
		}
	}
	if !anything {
		slices.Sort(out)
		return slices.Compact(out)
	}
	for _, p := range w.s.Pods {
		if p.Name == n || strings.HasPrefix(p.Name, n+"-") && len(n) >= 3 {
			out = append(out, "pod/"+p.Name)
		}
	}
	for _, ing := range w.s.Ingresses {
		for _, r := range ing.Spec.Rules {
			if r.Host == n || strings.HasPrefix(r.Host, "*.") && strings.HasSuffix(n, r.Host[1:]) {
				out = append(out, "ingress/"+ing.Name)
				break
			}
		}
	}
	for _, c := range w.s.PVCs {
		if c.Name == n {
			out = append(out, "persistentvolumeclaim/"+n)
		}
	}
	for _, h := range w.s.HPAs {
		if h.Name == n {
			out = append(out, "horizontalpodautoscaler/"+n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// expand follows the wiring from the seeds and returns every resource key in scope.
func (w *wiring) expand(seeds []string) map[string]bool {
	in := map[string]bool{}
	queue := slices.Clone(seeds)
	add := func(keys ...string) {
		for _, k := range keys {
			if k != "" && !in[k] {
				queue = append(queue, k)
			}
		}
	}
	for len(queue) > 0 {
		key := queue[0]
		queue = queue[1:]
		if in[key] {
			continue
		}
		in[key] = true
		kind, name, _ := strings.Cut(key, "/")
		switch kind {
		case "deployment", "statefulset", "job", "cronjob":
			t := w.tmpl[key]
			for _, i := range w.podsOf[key] {
				add("pod/" + w.s.Pods[i].Name)
			}
			add(w.claims(t.spec, name, kind)...)
			for _, svc := range w.s.Services {
				if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(t.labels)) {
					add("service/" + svc.Name)
				}
			}
			app := w.appOf[key]
			for _, ing := range w.s.Ingresses { // ingresses that carry the app's name
				if ing.Name == app || strings.HasPrefix(ing.Name, app+"-") || appName(ing.Labels, "") == app {
					add("ingress/" + ing.Name)
				}
			}
			for _, h := range w.s.HPAs {
				if strings.EqualFold(h.Spec.ScaleTargetRef.Kind, kind) && h.Spec.ScaleTargetRef.Name == name {
					in["horizontalpodautoscaler/"+h.Name] = true
				}
			}
			for _, p := range w.s.PDBs {
				if w.selects(p.Spec.Selector, key) {
					in["poddisruptionbudget/"+p.Name] = true
				}
			}
			for _, np := range w.s.NetworkPolicies {
				if w.selects(&np.Spec.PodSelector, key) {
					in["networkpolicy/"+np.Name] = true
				}
			}
		case "pod":
			add(w.owner[key])
			for i := range w.s.Pods {
				p := &w.s.Pods[i]
				if p.Name != name {
					continue
				}
				add(w.claims(&p.Spec, "", "")...)
				for _, svc := range w.s.Services {
					if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p.Labels)) {
						add("service/" + svc.Name)
					}
				}
				if w.owner[key] == "" { // a bare pod: the policies that select it
					for _, np := range w.s.NetworkPolicies {
						if sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); err == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
							in["networkpolicy/"+np.Name] = true
						}
					}
				}
			}
		case "service":
			if i, ok := w.services[name]; ok {
				add(w.selected(w.s.Services[i].Spec.Selector)...)
				for _, ing := range w.s.Ingresses {
					if slices.ContainsFunc(backends(&ing), func(b backend) bool { return b.Name == name }) {
						add("ingress/" + ing.Name)
					}
				}
			}
		case "ingress":
			for _, ing := range w.s.Ingresses {
				if ing.Name != name {
					continue
				}
				for _, b := range backends(&ing) {
					if _, ok := w.services[b.Name]; ok {
						add("service/" + b.Name)
					}
				}
			}
		case "persistentvolumeclaim":
			for _, p := range w.s.Pods {
				for _, v := range p.Spec.Volumes {
					if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == name {
						add("pod/" + p.Name)
					}
				}
			}
		case "horizontalpodautoscaler":
			for _, h := range w.s.HPAs {
				if h.Name == name {
					t := strings.ToLower(h.Spec.ScaleTargetRef.Kind) + "/" + h.Spec.ScaleTargetRef.Name
					if _, ok := w.tmpl[t]; ok {
						add(t)
					}
				}
			}
		}
	}
	return in
}

// claims are the PVC keys a pod spec mounts, and a StatefulSet's claim templates.
func (w *wiring) claims(spec *corev1.PodSpec, sts, kind string) []string {
	var out []string
	if spec != nil {
		for _, v := range spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				out = append(out, "persistentvolumeclaim/"+v.PersistentVolumeClaim.ClaimName)
			}
		}
	}
	if kind == "statefulset" {
		for _, st := range w.s.StatefulSets {
			if st.Name != sts {
				continue
			}
			for _, t := range st.Spec.VolumeClaimTemplates {
				prefix := t.Name + "-" + sts + "-"
				for _, c := range w.s.PVCs {
					if strings.HasPrefix(c.Name, prefix) {
						out = append(out, "persistentvolumeclaim/"+c.Name)
					}
				}
			}
		}
	}
	return out
}
