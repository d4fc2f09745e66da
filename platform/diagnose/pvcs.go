package diagnose

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// pvcs: unbound claims, missing storage classes.
func (a *analysis) pvcs() {
	classes := map[string]bool{}
	hasDefault := false
	for _, sc := range a.s.StorageClasses {
		classes[sc.Name] = true
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			hasDefault = true
		}
	}
	for _, c := range a.s.PVCs {
		res := "persistentvolumeclaim/" + c.Name
		if !a.has(res) {
			continue
		}
		app := a.w.appOf[res]
		switch c.Status.Phase {
		case corev1.ClaimLost:
			a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: "volume lost: the bound PersistentVolume is gone", Suggestion: "restore the volume from backup"})
		case corev1.ClaimPending:
			ev := a.warnings("PersistentVolumeClaim", c.Name, 2)
			switch sc := c.Spec.StorageClassName; {
			case sc != nil && *sc != "" && !classes[*sc]:
				a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: fmt.Sprintf("unbound: StorageClass %s does not exist, so no volume is provisioned", *sc),
					Evidence: ev, Suggestion: "use an existing storage class: " + cmp.Or(strings.Join(slices.Sorted(maps.Keys(classes)), ", "), "the cluster has none")})
			case (sc == nil || *sc == "") && !hasDefault:
				a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: "unbound: no storage class named and the cluster has no default",
					Evidence: ev, Suggestion: "name a storage class"})
			default:
				a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: "unbound: waiting for a volume to be provisioned",
					Evidence: ev, Suggestion: "check the provisioner of the storage class and the storage quota"})
			}
		}
	}
}
