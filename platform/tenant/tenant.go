// Package tenant manages users, tenants and memberships: the store rows and, for each of a
// tenant's environments, a labelled namespace with RoleBindings per role, a ResourceQuota, a
// LimitRange and a NetworkPolicy isolating it from other tenants.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/internal/store"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
)

// Labels the platform puts on what it manages.
const (
	LabelTenant    = "k8s-manage.io/tenant"
	LabelEnv       = "k8s-manage.io/env"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "k8s-manage"

	QuotaName         = "k8sm-quota"
	LimitRangeName    = "k8sm-limits"
	NetworkPolicyName = "k8sm-tenant-isolation"
)

// DefaultEnvironments are created when a tenant names none.
var DefaultEnvironments = []string{"dev", "test", "prod"}

// Quota is a tenant environment's hard limits, as Kubernetes quantities.
type Quota map[corev1.ResourceName]string

// DefaultQuota is applied to each environment unless the spec says otherwise.
func DefaultQuota() Quota {
	return Quota{
		corev1.ResourceRequestsCPU: "4", corev1.ResourceRequestsMemory: "8Gi",
		corev1.ResourceLimitsCPU: "8", corev1.ResourceLimitsMemory: "16Gi",
		corev1.ResourcePods: "30", corev1.ResourceServices: "20", corev1.ResourcePersistentVolumeClaims: "10",
	}
}

// Spec describes a tenant to create.
type Spec struct {
	Name         string
	DisplayName  string
	Environments []string // default dev, test, prod
	Quota        Quota    // default DefaultQuota, per environment
	Members      []Member
}

// Report lists what an operation created or removed, as "kind namespace/name".
type Report struct {
	Created []string
	Removed []string
	Updated []string
}

// Service manages tenants. It uses the platform's own Kubernetes identity: tenant set-up is
// platform work, authorised by the caller's platform role before it gets here.
type Service struct {
	store *store.Store
	kube  kubernetes.Interface
	log   *slog.Logger
}

// NewService builds a Service.
func NewService(st *store.Store, clients *kube.Clients, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, kube: clients.Admin(), log: log}
}

// Namespace is the namespace of a tenant's environment. Environment names hold no '-', so the
// namespace splits back at its last '-' into exactly one tenant and environment: tenant "team"
// with environment "a-dev" cannot name tenant "team-a"'s "dev".
func Namespace(tenant, env string) string { return tenant + "-" + env }

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	envName  = regexp.MustCompile(`^[a-z0-9]+$`)
)

// Access is a person's standing in one environment of a tenant, resolved once at an entry (a
// chat turn, an API request, a webhook) and passed down instead of a tenant name.
type Access struct {
	User   string
	Tenant string
	Env    string
	Role   Role
	// Envs are the tenant's environments.
	Envs []string
}

// Authorize resolves email's role in tenantName and checks that env is one of the tenant's
// environments (empty env: the tenant's dev, else its first). A person who is not a member (or a tenant that does not exist: the answer is
// the same, so nothing leaks) gets a Forbidden error naming the tenant; an unknown environment
// an Invalid error naming the field "env".
func (s *Service) Authorize(ctx context.Context, tenantName, env, email string) (Access, error) {
	a := Access{User: strings.ToLower(email), Tenant: tenantName, Env: env}
	t, err := loadTenant(ctx, s.store, tenantName)
	if errors.Is(err, perr.ErrNotFound) {
		return a, perr.New(perr.Forbidden, "you (%s) are not a member of tenant %s", email, tenantName)
	}
	if err != nil {
		return a, err
	}
	ms, err := members(ctx, s.store, t.ID)
	if err != nil {
		return a, err
	}
	for _, m := range ms {
		if strings.EqualFold(m.Email, email) {
			a.Role = m.Role
		}
	}
	if a.Role == "" {
		return a, perr.New(perr.Forbidden, "you (%s) are not a member of tenant %s", email, tenantName)
	}
	a.Envs = t.Environments
	if env == "" && len(t.Environments) > 0 { // the tenant's dev, else its first environment
		a.Env = t.Environments[0]
		if slices.Contains(t.Environments, "dev") {
			a.Env = "dev"
		}
		return a, nil
	}
	if !slices.Contains(t.Environments, env) {
		return a, perr.Invalidf("env", "tenant %s has no environment %q (it has %s)", tenantName, env, strings.Join(t.Environments, ", "))
	}
	return a, nil
}

func (sp *Spec) validate() error {
	if !dnsLabel.MatchString(sp.Name) || len(sp.Name) > 40 {
		return perr.Invalidf("name", "%q must be lower-case letters, digits and '-', at most 40 characters", sp.Name)
	}
	if len(sp.Environments) == 0 {
		sp.Environments = DefaultEnvironments
	}
	seen := map[string]bool{}
	for _, e := range sp.Environments {
		if !envName.MatchString(e) || len(e) > 20 {
			return perr.Invalidf("environments", "%q is not a valid environment name: lower-case letters and digits only (no '-', so namespaces stay unambiguous), at most 20", e)
		}
		if seen[e] {
			return perr.Invalidf("environments", "%q is listed twice", e)
		}
		seen[e] = true
	}
	if sp.Quota == nil {
		sp.Quota = DefaultQuota()
	}
	if _, err := sp.Quota.resourceList(); err != nil {
		return err
	}
	for i, m := range sp.Members {
		if _, err := ParseRole(string(m.Role)); err != nil {
			return perr.Invalidf(fmt.Sprintf("members[%d].role", i), "%v", err)
		}
		if !validEmail(strings.ToLower(m.Email)) {
			return perr.Invalidf(fmt.Sprintf("members[%d].email", i), "%q is not an e-mail address", m.Email)
		}
	}
	return nil
}

func (q Quota) resourceList() (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for k, v := range q {
		qty, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, perr.Invalidf("quota."+string(k), "%q is not a quantity (e.g. 4, 500m, 8Gi)", v)
		}
		if qty.Sign() < 0 {
			return nil, perr.Invalidf("quota."+string(k), "must not be negative")
		}
		out[k] = qty
	}
	return out, nil
}

// EnsureClusterRoles creates or updates the ClusterRoles tenant RoleBindings refer to. Roles
// that already have this version's rules are left alone, so a service account without write
// access to ClusterRoles (the Helm chart's) starts when the chart created them.
func (s *Service) EnsureClusterRoles(ctx context.Context) error {
	for _, r := range Roles {
		cr := &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: ClusterRoleName(r), Labels: map[string]string{LabelManagedBy: ManagedBy}},
			Rules:      rules(r),
		}
		existing, err := s.kube.RbacV1().ClusterRoles().Get(ctx, cr.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = s.kube.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{})
		case err == nil && equality.Semantic.DeepEqual(existing.Rules, cr.Rules):
			continue // as shipped (the Helm chart creates them): nothing to write
		case err == nil:
			existing.Rules = cr.Rules
			_, err = s.kube.RbacV1().ClusterRoles().Update(ctx, existing, metav1.UpdateOptions{})
		}
		if err != nil {
			return perr.FromAPI(err, "ensure cluster role "+cr.Name)
		}
	}
	return nil
}

// Create makes the tenant: store rows and every environment's namespace and policies. On any
// failure nothing is left behind: the store transaction rolls back and created namespaces are removed.
func (s *Service) Create(ctx context.Context, spec Spec) (Tenant, Report, error) {
	var rep Report
	if err := spec.validate(); err != nil {
		return Tenant{}, rep, err
	}
	var t Tenant
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := loadTenant(ctx, tx, spec.Name); err == nil {
			return perr.New(perr.AlreadyExists, "tenant %s already exists", spec.Name)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO tenants (name, display_name, environments, created_at) VALUES (?, ?, ?, ?)",
			spec.Name, spec.DisplayName, strings.Join(spec.Environments, ","), time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("create tenant %s: %w", spec.Name, err)
		}
		var err error
		if t, err = loadTenant(ctx, tx, spec.Name); err != nil {
			return err
		}
		for _, m := range spec.Members {
			u, err := EnsureUser(ctx, tx, m.Email, "")
			if err != nil {
				return err
			}
			if err := setMember(ctx, tx, t.ID, u.ID, m.Role); err != nil {
				return err
			}
		}
		// Kubernetes last, inside the transaction: if it fails, the rows roll back too.
		for _, env := range spec.Environments {
			created, err := s.createEnvironment(ctx, spec, env)
			rep.Created = append(rep.Created, created...)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, env := range spec.Environments {
			ns := Namespace(spec.Name, env)
			if slices.Contains(rep.Created, "namespace "+ns) {
				if delErr := s.kube.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), ns, metav1.DeleteOptions{}); delErr != nil {
					s.log.Error("undo tenant namespace", "namespace", ns, "err", delErr)
				}
			}
		}
		return Tenant{}, Report{}, err
	}
	s.log.Info("tenant created", "tenant", t.Name, "environments", t.Environments, "objects", len(rep.Created))
	return t, rep, nil
}

func (s *Service) createEnvironment(ctx context.Context, spec Spec, env string) ([]string, error) {
	ns := Namespace(spec.Name, env)
	labels := map[string]string{LabelTenant: spec.Name, LabelEnv: env, LabelManagedBy: ManagedBy}
	var created []string
	if _, err := s.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels},
	}, metav1.CreateOptions{}); err != nil {
		return created, perr.FromAPI(err, "create namespace "+ns)
	}
	created = append(created, "namespace "+ns)
	for _, r := range Roles {
		rb := roleBinding(ns, r, spec.Members, labels)
		if _, err := s.kube.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			return created, perr.FromAPI(err, "create role binding "+ns+"/"+rb.Name)
		}
		created = append(created, "rolebinding "+ns+"/"+rb.Name)
	}
	hard, _ := spec.Quota.resourceList()
	if _, err := s.kube.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: QuotaName, Labels: labels},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
	}, metav1.CreateOptions{}); err != nil {
		return created, perr.FromAPI(err, "create resource quota "+ns)
	}
	created = append(created, "resourcequota "+ns+"/"+QuotaName)
	if _, err := s.kube.CoreV1().LimitRanges(ns).Create(ctx, limitRange(labels), metav1.CreateOptions{}); err != nil {
		return created, perr.FromAPI(err, "create limit range "+ns)
	}
	created = append(created, "limitrange "+ns+"/"+LimitRangeName)
	if _, err := s.kube.NetworkingV1().NetworkPolicies(ns).Create(ctx, networkPolicy(spec.Name, labels), metav1.CreateOptions{}); err != nil {
		return created, perr.FromAPI(err, "create network policy "+ns)
	}
	created = append(created, "networkpolicy "+ns+"/"+NetworkPolicyName)
	return created, nil
}

func roleBinding(ns string, r Role, ms []Member, labels map[string]string) *rbacv1.RoleBinding {
	subjects := []rbacv1.Subject{}
	for _, m := range ms {
		if m.Role == r {
			subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: strings.ToLower(m.Email)})
		}
	}
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ClusterRoleName(r), Namespace: ns, Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ClusterRoleName(r)},
		Subjects:   subjects,
	}
}

func limitRange(labels map[string]string) *corev1.LimitRange {
	return &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: LimitRangeName, Labels: labels},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer,
			DefaultRequest: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
			},
			Default: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi"),
			},
		}}},
	}
}

// networkPolicy admits ingress only from the tenant's own namespaces; egress is left open.
func networkPolicy(tenant string, labels map[string]string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: NetworkPolicyName, Labels: labels},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelTenant: tenant}},
				}},
			}},
		},
	}
}

// Get loads a tenant.
func (s *Service) Get(ctx context.Context, name string) (Tenant, error) {
	return loadTenant(ctx, s.store, name)
}

// List returns every tenant.
func (s *Service) List(ctx context.Context) ([]Tenant, error) { return listTenants(ctx, s.store) }

// Members lists a tenant's members.
func (s *Service) Members(ctx context.Context, tenant string) ([]Member, error) {
	t, err := loadTenant(ctx, s.store, tenant)
	if err != nil {
		return nil, err
	}
	return members(ctx, s.store, t.ID)
}

// RoleOf returns a user's role in a tenant, or false when the user is not a member.
func (s *Service) RoleOf(ctx context.Context, tenant, email string) (Role, bool, error) {
	ms, err := s.Members(ctx, tenant)
	if err != nil {
		return "", false, err
	}
	for _, m := range ms {
		if strings.EqualFold(m.Email, email) {
			return m.Role, true, nil
		}
	}
	return "", false, nil
}

// TenantsOf lists the tenants a user belongs to with the role held in each.
func (s *Service) TenantsOf(ctx context.Context, email string) (map[string]Role, error) {
	rows, err := s.store.QueryContext(ctx, `SELECT t.name, m.role FROM tenant_members m
		JOIN tenants t ON t.id = m.tenant_id JOIN users u ON u.id = m.user_id WHERE u.email = ?`, strings.ToLower(email))
	if err != nil {
		return nil, fmt.Errorf("tenants of %s: %w", email, err)
	}
	defer rows.Close()
	out := map[string]Role{}
	for rows.Next() {
		var name, role string
		if err := rows.Scan(&name, &role); err != nil {
			return nil, err
		}
		out[name] = Role(role)
	}
	return out, rows.Err()
}

// SetMember adds a member or changes their role, then rewrites the tenant's RoleBindings. If
// the cluster update fails the membership change is rolled back.
func (s *Service) SetMember(ctx context.Context, tenant, email string, role Role) (Report, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return Report{}, perr.Invalidf("role", "%v", err)
	}
	return s.changeMembers(ctx, tenant, func(tx *store.Tx, t Tenant) error {
		u, err := EnsureUser(ctx, tx, email, "")
		if err != nil {
			return err
		}
		return setMember(ctx, tx, t.ID, u.ID, role)
	})
}

// RemoveMember removes a member and their RoleBinding subjects.
func (s *Service) RemoveMember(ctx context.Context, tenant, email string) (Report, error) {
	return s.changeMembers(ctx, tenant, func(tx *store.Tx, t Tenant) error {
		u, err := UserByEmail(ctx, tx, email)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM tenant_members WHERE tenant_id = ? AND user_id = ?", t.ID, u.ID)
		if err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return perr.New(perr.NotFound, "%s is not a member of %s", email, tenant)
		}
		return nil
	})
}

func (s *Service) changeMembers(ctx context.Context, tenant string, change func(*store.Tx, Tenant) error) (Report, error) {
	var rep Report
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		t, err := loadTenant(ctx, tx, tenant)
		if err != nil {
			return err
		}
		if err := change(tx, t); err != nil {
			return err
		}
		ms, err := members(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		for _, env := range t.Environments {
			ns := Namespace(t.Name, env)
			for _, r := range Roles {
				want := roleBinding(ns, r, ms, nil)
				rb, err := s.kube.RbacV1().RoleBindings(ns).Get(ctx, want.Name, metav1.GetOptions{})
				if err != nil {
					return perr.FromAPI(err, "read role binding "+ns+"/"+want.Name)
				}
				if slices.Equal(rb.Subjects, want.Subjects) {
					continue
				}
				rb.Subjects = want.Subjects
				if _, err := s.kube.RbacV1().RoleBindings(ns).Update(ctx, rb, metav1.UpdateOptions{}); err != nil {
					return perr.FromAPI(err, "update role binding "+ns+"/"+want.Name)
				}
				rep.Updated = append(rep.Updated, "rolebinding "+ns+"/"+want.Name)
			}
		}
		return nil
	})
	return rep, err
}

// Delete removes a tenant: its namespaces (and everything in them) and its store rows. The
// report names each namespace and the apps (Deployments) that were in it.
func (s *Service) Delete(ctx context.Context, name string) (Report, error) {
	var rep Report
	t, err := loadTenant(ctx, s.store, name)
	if err != nil {
		return rep, err
	}
	for _, env := range t.Environments {
		ns := Namespace(t.Name, env)
		deps, err := s.kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return rep, perr.FromAPI(err, "list deployments in "+ns)
		}
		if deps != nil {
			for _, d := range deps.Items {
				rep.Removed = append(rep.Removed, "deployment "+ns+"/"+d.Name)
			}
		}
		err = s.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return rep, perr.FromAPI(err, "delete namespace "+ns)
		}
		rep.Removed = append(rep.Removed, "namespace "+ns)
	}
	if _, err := s.store.ExecContext(ctx, "DELETE FROM tenants WHERE id = ?", t.ID); err != nil {
		return rep, fmt.Errorf("delete tenant %s: %w", name, err)
	}
	rep.Removed = append(rep.Removed, "tenant "+name)
	s.log.Info("tenant deleted", "tenant", name, "removed", len(rep.Removed))
	return rep, nil
}

// Identity is how a platform user is impersonated in the cluster.
func Identity(email string) kube.Identity { return kube.Identity{User: strings.ToLower(email)} }
