package diagnose

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"

	"k8s-manage/internal/textutil"
)

// refs checks, before any kubelet tries, that what a pod template (or a bare pod) references
// exists: ConfigMaps and Secrets and the keys taken from them, PVCs, the ServiceAccount, image
// pull secrets and the PriorityClass. A missing one stops the pods (CreateContainerConfigError,
// FailedCreate, Pending), on kwok and on a real kubelet alike; the finding names it.
func (a *analysis) refs() {
	check := func(key string, spec *corev1.PodSpec) {
		if spec == nil || !a.has(key) {
			return
		}
		for _, p := range a.missing(spec) {
			ev := a.workloadEvents(key, 2)
			a.add(Finding{Severity: Critical, Resource: key, Reason: p.reason, Evidence: append(p.evidence, ev...), Suggestion: p.fix})
		}
	}
	for _, d := range a.s.Deployments {
		check("deployment/"+d.Name, &d.Spec.Template.Spec)
	}
	for _, st := range a.s.StatefulSets {
		check("statefulset/"+st.Name, &st.Spec.Template.Spec)
		for _, t := range st.Spec.VolumeClaimTemplates { // a claim template's class, before the claim exists
			if sc := t.Spec.StorageClassName; sc != nil && *sc != "" && a.s.StorageClasses != nil && !a.s.Unreadable["storageclasses"] &&
				!slices.ContainsFunc(a.s.StorageClasses, func(c storagev1.StorageClass) bool { return c.Name == *sc }) && !a.claimed(st.Name, t.Name) {
				a.add(Finding{Severity: Critical, Resource: "statefulset/" + st.Name, Reason: fmt.Sprintf("volumeClaimTemplate %s asks for StorageClass %s, which does not exist", t.Name, *sc),
					Suggestion: "use an existing storage class"})
			}
		}
	}
	for _, cj := range a.s.CronJobs {
		check("cronjob/"+cj.Name, &cj.Spec.JobTemplate.Spec.Template.Spec)
	}
	for _, j := range a.s.Jobs {
		if a.w.owner["job/"+j.Name] == "" {
			check("job/"+j.Name, &j.Spec.Template.Spec)
		}
	}
	for i := range a.s.Pods {
		p := &a.s.Pods[i]
		if a.w.owner["pod/"+p.Name] == "" && p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded {
			check("pod/"+p.Name, &p.Spec)
		}
	}
}

// claimed says whether a StatefulSet's claim template already has claims (the PVC finding
// then speaks for it).
func (a *analysis) claimed(sts, tmpl string) bool {
	return slices.ContainsFunc(a.s.PVCs, func(c corev1.PersistentVolumeClaim) bool { return strings.HasPrefix(c.Name, tmpl+"-"+sts+"-") })
}

type problem struct {
	reason, fix string
	evidence    []string
}

// missing lists what a pod spec references that does not exist, once each.
func (a *analysis) missing(spec *corev1.PodSpec) []problem {
	var out []problem
	seen := map[string]bool{}
	add := func(reason, fix string, evidence ...string) {
		if !seen[reason] {
			seen[reason] = true
			out = append(out, problem{reason, fix, evidence})
		}
	}
	cms := map[string][]string{}
	for _, cm := range a.s.ConfigMaps {
		for k := range cm.Data {
			cms[cm.Name] = append(cms[cm.Name], k)
		}
		for k := range cm.BinaryData {
			cms[cm.Name] = append(cms[cm.Name], k)
		}
		if cms[cm.Name] == nil {
			cms[cm.Name] = []string{}
		}
	}
	// What exists of each kind that was listed, shown beside a missing name (secrets are never
	// listed, only read by name).
	names := map[string][]string{"PersistentVolumeClaim": {}}
	if !a.s.Unreadable["configmaps"] {
		names["ConfigMap"] = slices.Collect(maps.Keys(cms))
	}
	if !a.s.Unreadable["serviceaccounts"] {
		names["ServiceAccount"] = []string{}
	}
	if !a.s.Unreadable["priorityclasses"] {
		names["PriorityClass"] = []string{}
	}
	for _, c := range a.s.PVCs {
		names["PersistentVolumeClaim"] = append(names["PersistentVolumeClaim"], c.Name)
	}
	for _, sa := range a.s.ServiceAccounts {
		names["ServiceAccount"] = append(names["ServiceAccount"], sa.Name)
	}
	for _, pc := range a.s.PriorityClasses {
		names["PriorityClass"] = append(names["PriorityClass"], pc.Name)
	}
	existingOf := func(kind, missing string) []string {
		if have, listed := names[kind]; listed {
			return existing(kind, missing, have)
		}
		return nil
	}
	// ref checks a reference to a ConfigMap or Secret (and a key in it); lookup is nil when the
	// kind cannot be read, and the check is then skipped.
	ref := func(kind, name, key, where string, optional *bool, lookup func(string) (keys []string, exists, known bool)) {
		if lookup == nil || optional != nil && *optional {
			return
		}
		keys, ok, known := lookup(name)
		switch {
		case !known: // it could not be read: no verdict
		case !ok:
			add(fmt.Sprintf("%s %s does not exist (%s %q not found), referenced by %s", kind, name, strings.ToLower(kind), name, where),
				fmt.Sprintf("create %s %s, or fix the reference (or mark it optional)", kind, name), existingOf(kind, name)...)
		case key != "" && !slices.Contains(keys, key):
			add(fmt.Sprintf("key %s is not in %s %s (couldn't find key %s in %s %s), referenced by %s; it has: %s", key, kind, name, key, kind, name, where, keyList(keys)),
				fmt.Sprintf("add key %s to %s %s, or reference one of its keys", key, kind, name))
		}
	}
	var cmLookup, secretLookup func(string) ([]string, bool, bool)
	if !a.s.Unreadable["configmaps"] {
		cmLookup = func(n string) ([]string, bool, bool) { k, ok := cms[n]; return k, ok, true }
	}
	if a.s.SecretKeys != nil {
		secretLookup = func(n string) ([]string, bool, bool) {
			keys, missing, known := a.secret(n)
			return keys, !missing, known
		}
	}
	configMap := func(name, key, where string, optional *bool) { ref("ConfigMap", name, key, where, optional, cmLookup) }
	secret := func(name, key, where string, optional *bool) { ref("Secret", name, key, where, optional, secretLookup) }
	containers := slices.Concat(spec.InitContainers, spec.Containers)
	for _, c := range containers {
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			where := fmt.Sprintf("env %s of container %s", e.Name, c.Name)
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				configMap(r.Name, r.Key, where, r.Optional)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				secret(r.Name, r.Key, where, r.Optional)
			}
		}
		for _, e := range c.EnvFrom {
			where := "envFrom of container " + c.Name
			if r := e.ConfigMapRef; r != nil {
				configMap(r.Name, "", where, r.Optional)
			}
			if r := e.SecretRef; r != nil {
				secret(r.Name, "", where, r.Optional)
			}
		}
	}
	claims := map[string]bool{}
	for _, c := range a.s.PVCs {
		claims[c.Name] = true
	}
	for _, v := range spec.Volumes {
		where := "volume " + v.Name
		switch {
		case v.ConfigMap != nil:
			for _, it := range v.ConfigMap.Items {
				configMap(v.ConfigMap.Name, it.Key, where, v.ConfigMap.Optional)
			}
			configMap(v.ConfigMap.Name, "", where, v.ConfigMap.Optional)
		case v.Secret != nil:
			for _, it := range v.Secret.Items {
				secret(v.Secret.SecretName, it.Key, where, v.Secret.Optional)
			}
			secret(v.Secret.SecretName, "", where, v.Secret.Optional)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					configMap(src.ConfigMap.Name, "", where, src.ConfigMap.Optional)
				}
				if src.Secret != nil {
					secret(src.Secret.Name, "", where, src.Secret.Optional)
				}
			}
		case v.PersistentVolumeClaim != nil:
			if n := v.PersistentVolumeClaim.ClaimName; !claims[n] {
				add(fmt.Sprintf("PersistentVolumeClaim %s does not exist (persistentvolumeclaim %q not found), mounted as %s: the pods stay Pending", n, n, where),
					fmt.Sprintf("create PVC %s, or fix claimName", n), existingOf("PersistentVolumeClaim", n)...)
			}
		}
	}
	if sa := spec.ServiceAccountName; sa != "" && sa != "default" && !a.s.Unreadable["serviceaccounts"] &&
		!slices.ContainsFunc(a.s.ServiceAccounts, func(x corev1.ServiceAccount) bool { return x.Name == sa }) {
		add(fmt.Sprintf("ServiceAccount %s does not exist (serviceaccount %q not found): the ReplicaSet cannot create pods", sa, sa),
			fmt.Sprintf("create ServiceAccount %s (with its RoleBinding), or use an existing one", sa), existingOf("ServiceAccount", sa)...)
	}
	for _, ps := range spec.ImagePullSecrets {
		if _, missing, _ := a.secret(ps.Name); missing {
			add(fmt.Sprintf("imagePullSecret %s does not exist (secret %q not found): images from a private registry cannot be pulled", ps.Name, ps.Name),
				fmt.Sprintf("create the docker-registry Secret %s, or fix imagePullSecrets", ps.Name))
		}
	}
	if pc := spec.PriorityClassName; pc != "" && !a.s.Unreadable["priorityclasses"] && a.s.PriorityClasses != nil &&
		!slices.ContainsFunc(a.s.PriorityClasses, func(x schedulingv1.PriorityClass) bool { return x.Name == pc }) && !builtinPriority(pc) {
		add(fmt.Sprintf("PriorityClass %s does not exist (no PriorityClass with name %s was found): admission refuses the pods", pc, pc),
			"use an existing PriorityClass, or ask the platform team to create it", existingOf("PriorityClass", pc)...)
	}
	return out
}

// existing names what exists of a kind beside a missing name, nearest first: a typo shows at once.
func existing(kind, missing string, have []string) []string {
	if len(have) == 0 {
		return []string{fmt.Sprintf("no %s exists here", kind)}
	}
	have = slices.Clone(have)
	slices.SortStableFunc(have, func(x, y string) int { return textutil.Distance(x, missing) - textutil.Distance(y, missing) })
	line := fmt.Sprintf("%ss here: %s", kind, keyList(have[:min(len(have), 8)]))
	if textutil.Distance(have[0], missing) <= 2 {
		line = fmt.Sprintf("did you mean %s %s? %s", kind, have[0], line)
	}
	return []string{line}
}

func builtinPriority(name string) bool {
	return name == "system-cluster-critical" || name == "system-node-critical"
}

func keyList(keys []string) string {
	if len(keys) == 0 {
		return "no keys"
	}
	keys = slices.Sorted(slices.Values(keys))
	if len(keys) > 8 {
		keys = append(keys[:8], "…")
	}
	return strings.Join(keys, ", ")
}

// secret says whether a secret is known to be missing, and its key names when it exists; a
// secret that could not be read is neither (known is false).
func (a *analysis) secret(name string) (keys []string, missing, known bool) {
	if a.s.SecretKeys == nil || name == "" {
		return nil, false, false
	}
	keys, err := a.s.SecretKeys(name)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, true, true
	case err != nil:
		return nil, false, false
	}
	return keys, false, true
}
