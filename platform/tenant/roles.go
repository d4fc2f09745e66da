package tenant

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Role is a member's role in a tenant. Each role includes everything the roles below it may do.
type Role string

const (
	Viewer    Role = "viewer"    // read apps, pods, logs, events, quotas; no secrets
	Developer Role = "developer" // + deploy, scale, restart, roll back, HPA, config maps, services, ingresses
	Operator  Role = "operator"  // + secrets, exec, persistent volume claims, stateful sets
	Admin     Role = "admin"     // + quotas, limit ranges, network policies
)

// Roles in ascending order of power.
var Roles = []Role{Viewer, Developer, Operator, Admin}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role must be one of viewer, developer, operator, admin; got %q", s)
}

// Rank orders roles: Viewer 1 ... Admin 4; unknown 0.
func (r Role) Rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// AtLeast says whether r includes the rights of min.
func (r Role) AtLeast(min Role) bool { return r.Rank() >= min.Rank() && r.Rank() > 0 }

// ClusterRoleName is the ClusterRole a role is bound to in every tenant namespace.
func ClusterRoleName(r Role) string { return "k8sm-" + string(r) }

var (
	read  = []string{"get", "list", "watch"}
	write = []string{"create", "update", "patch", "delete"}
)

// Rules returns the RBAC rules of a role's ClusterRole (the Helm chart ships the same four
// ClusterRoles; a test keeps them equal).
func Rules(r Role) []rbacv1.PolicyRule { return rules(r) }

// rules returns the RBAC rules of a role, cumulative over the roles below it.
func rules(r Role) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	add := func(group string, verbs []string, resources ...string) {
		out = append(out, rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: verbs})
	}
	if r.AtLeast(Viewer) {
		add("", read, "pods", "pods/log", "services", "endpoints", "events", "configmaps",
			"persistentvolumeclaims", "resourcequotas", "limitranges", "replicationcontrollers", "serviceaccounts")
		add("apps", read, "deployments", "deployments/scale", "replicasets", "statefulsets", "daemonsets")
		add("autoscaling", read, "horizontalpodautoscalers")
		add("batch", read, "jobs", "cronjobs")
		add("networking.k8s.io", read, "ingresses", "networkpolicies")
		add("events.k8s.io", read, "events")
		add("discovery.k8s.io", read, "endpointslices")
		add("policy", read, "poddisruptionbudgets")
		add("metrics.k8s.io", []string{"get", "list"}, "pods")
		add("autoscaling.k8s.io", read, "verticalpodautoscalers")
	}
	if r.AtLeast(Developer) {
		add("apps", write, "deployments", "deployments/scale")
		add("", write, "services", "configmaps")
		add("", []string{"delete"}, "pods")
		add("autoscaling", write, "horizontalpodautoscalers")
		add("autoscaling.k8s.io", write, "verticalpodautoscalers")
		add("networking.k8s.io", write, "ingresses")
		add("batch", write, "jobs", "cronjobs")
	}
	if r.AtLeast(Operator) {
		add("", append(append([]string{}, read...), write...), "secrets")
		add("", []string{"create", "get"}, "pods/exec", "pods/portforward", "pods/attach")
		add("", write, "persistentvolumeclaims")
		add("apps", write, "statefulsets", "statefulsets/scale")
	}
	if r.AtLeast(Admin) {
		add("", []string{"update", "patch"}, "resourcequotas", "limitranges")
		add("networking.k8s.io", write, "networkpolicies")
	}
	return out
}
