// Package catalog provisions service instances from templates (Redis, MySQL, PostgreSQL, Kafka)
// with plans: a StatefulSet with a persistent volume, a headless Service and a Secret of generated
// credentials, in the tenant's namespace, created as the person asking. Connection info names the
// Secret; the password is never returned.
package catalog

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
)

// Labels of instance objects.
const (
	LabelInstance = "k8s-manage.io/service-instance"
	LabelType     = "k8s-manage.io/service-type"
	LabelPlan     = "k8s-manage.io/service-plan"
)

// Plan is an instance size.
type Plan struct {
	CPU, Memory, Storage string
}

// Plans by name.
var Plans = map[string]Plan{
	"small":  {CPU: "250m", Memory: "512Mi", Storage: "5Gi"},
	"medium": {CPU: "1", Memory: "2Gi", Storage: "20Gi"},
	"large":  {CPU: "2", Memory: "8Gi", Storage: "100Gi"},
}

type template struct {
	image    string
	port     int32
	dataPath string
	user     string
	env      func(name, secret string) []corev1.EnvVar
	args     []string
}

func fromSecret(envName, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: envName, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

var templates = map[string]template{
	"redis": {image: "redis:7.4", port: 6379, dataPath: "/data", user: "default",
		env:  func(_, s string) []corev1.EnvVar { return []corev1.EnvVar{fromSecret("REDIS_PASSWORD", s, "password")} },
		args: []string{"sh", "-c", `exec redis-server --appendonly yes --requirepass "$REDIS_PASSWORD"`}},
	"mysql": {image: "mysql:8.4", port: 3306, dataPath: "/var/lib/mysql", user: "app",
		env: func(name, s string) []corev1.EnvVar {
			return []corev1.EnvVar{fromSecret("MYSQL_ROOT_PASSWORD", s, "password"), fromSecret("MYSQL_PASSWORD", s, "password"),
				{Name: "MYSQL_USER", Value: "app"}, {Name: "MYSQL_DATABASE", Value: strings.ReplaceAll(name, "-", "_")}}
		}},
	"postgresql": {image: "postgres:17", port: 5432, dataPath: "/var/lib/postgresql/data", user: "app",
		env: func(name, s string) []corev1.EnvVar {
			return []corev1.EnvVar{fromSecret("POSTGRES_PASSWORD", s, "password"), {Name: "POSTGRES_USER", Value: "app"},
				{Name: "POSTGRES_DB", Value: strings.ReplaceAll(name, "-", "_")}, {Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"}}
		}},
	"kafka": {image: "apache/kafka:3.9.0", port: 9092, dataPath: "/var/lib/kafka/data", user: "app",
		env: func(name, _ string) []corev1.EnvVar {
			return []corev1.EnvVar{{Name: "KAFKA_NODE_ID", Value: "1"}, {Name: "KAFKA_PROCESS_ROLES", Value: "broker,controller"},
				{Name: "KAFKA_LISTENERS", Value: "PLAINTEXT://:9092,CONTROLLER://:9093"},
				{Name: "KAFKA_CONTROLLER_QUORUM_VOTERS", Value: "1@localhost:9093"}, {Name: "KAFKA_CONTROLLER_LISTENER_NAMES", Value: "CONTROLLER"},
				{Name: "KAFKA_LOG_DIRS", Value: "/var/lib/kafka/data"}}
		}},
}

// Types lists the catalog's templates.
func Types() []string { return slices.Sorted(maps.Keys(templates)) }

// Service provisions instances.
type Service struct{ kube *kube.Clients }

// NewService builds a Service.
func NewService(clients *kube.Clients) *Service { return &Service{kube: clients} }

// Spec asks for an instance.
type Spec struct {
	Type string `json:"type"`
	Name string `json:"name"`
	Plan string `json:"plan"`
}

// Instance is a provisioned instance as people see it.
type Instance struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Plan    string `json:"plan"`
	Ready   bool   `json:"ready"`
	Host    string `json:"host"`
	Port    int32  `json:"port"`
	User    string `json:"user"`
	Secret  string `json:"credentials_secret"` // keys: username, password
	Storage string `json:"storage"`
}

func (sp *Spec) validate() (template, Plan, error) {
	t, ok := templates[sp.Type]
	if !ok {
		return t, Plan{}, perr.Invalidf("type", "must be one of %s, got %q", strings.Join(Types(), ", "), sp.Type)
	}
	if sp.Plan == "" {
		sp.Plan = "small"
	}
	p, ok := Plans[sp.Plan]
	if !ok {
		return t, p, perr.Invalidf("plan", "must be small, medium or large, got %q", sp.Plan)
	}
	if err := apps.ValidateName(sp.Name); err != nil {
		return t, p, err
	}
	return t, p, nil
}

func password() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Provision creates the instance's Secret, headless Service and StatefulSet (whose volume claim
// template creates the PVC). If any step fails, what was created is removed.
func (s *Service) Provision(ctx context.Context, t apps.Target, sp Spec, o apps.WriteOptions) (*apps.Change, error) {
	tpl, plan, err := sp.validate()
	if err != nil {
		return nil, err
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	var dry []string
	if o.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	labels := map[string]string{LabelInstance: sp.Name, LabelType: sp.Type, LabelPlan: sp.Plan, apps.LabelManagedBy: apps.ManagedBy}
	secretName := sp.Name + "-credentials"
	ch := &apps.Change{DryRun: o.DryRun, Summary: fmt.Sprintf("provision %s %s (%s: %s CPU, %s memory, %s storage) in %s", sp.Type, sp.Name, sp.Plan, plan.CPU, plan.Memory, plan.Storage, ns)}
	var undo []func()
	rollback := func() {
		for _, f := range slices.Backward(undo) {
			f()
		}
	}
	bg := context.WithoutCancel(ctx)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Labels: labels}, Type: corev1.SecretTypeOpaque,
		StringData: map[string]string{"username": tpl.user, "password": password(), "host": fmt.Sprintf("%s.%s.svc.cluster.local", sp.Name, ns), "port": fmt.Sprint(tpl.port)}}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{DryRun: dry}); err != nil {
		return nil, perr.FromAPI(err, "create credentials "+ns+"/"+secretName)
	}
	if !o.DryRun {
		undo = append(undo, func() { _ = cs.CoreV1().Secrets(ns).Delete(bg, secretName, metav1.DeleteOptions{}) })
	}
	ch.Objects = append(ch.Objects, apps.ObjectChange{Kind: "Secret", Name: ns + "/" + secretName, Action: "create"})
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: sp.Name, Labels: labels}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
		Selector: map[string]string{LabelInstance: sp.Name}, Ports: []corev1.ServicePort{{Name: sp.Type, Port: tpl.port, TargetPort: intstr.FromInt32(tpl.port)}}}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{DryRun: dry}); err != nil {
		rollback()
		return nil, perr.FromAPI(err, "create service "+ns+"/"+sp.Name)
	}
	if !o.DryRun {
		undo = append(undo, func() { _ = cs.CoreV1().Services(ns).Delete(bg, sp.Name, metav1.DeleteOptions{}) })
	}
	ch.Objects = append(ch.Objects, apps.ObjectChange{Kind: "Service", Name: ns + "/" + sp.Name, Action: "create"})
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(plan.CPU), corev1.ResourceMemory: resource.MustParse(plan.Memory)}
	c := corev1.Container{Name: sp.Type, Image: tpl.image, Env: tpl.env(sp.Name, secretName), Ports: []corev1.ContainerPort{{ContainerPort: tpl.port}},
		Resources:    corev1.ResourceRequirements{Requests: res, Limits: res},
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: tpl.dataPath}}}
	if len(tpl.args) > 0 {
		c.Command = tpl.args
	}
	one := int32(1)
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: sp.Name, Labels: labels}, Spec: appsv1.StatefulSetSpec{
		Replicas: &one, ServiceName: sp.Name, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelInstance: sp.Name}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}},
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: labels}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(plan.Storage)}}}}},
	}}
	if _, err := cs.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{DryRun: dry}); err != nil {
		rollback()
		return nil, perr.FromAPI(err, "create statefulset "+ns+"/"+sp.Name)
	}
	ch.Objects = append(ch.Objects, apps.ObjectChange{Kind: "StatefulSet", Name: ns + "/" + sp.Name, Action: "create"},
		apps.ObjectChange{Kind: "PersistentVolumeClaim", Name: ns + "/data-" + sp.Name + "-0", Action: "create"})
	return ch, nil
}

// List returns the namespace's instances with connection info (never the password).
func (s *Service) List(ctx context.Context, t apps.Target) ([]Instance, error) {
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	l, err := cs.AppsV1().StatefulSets(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelInstance})
	if err != nil {
		return nil, perr.FromAPI(err, "list service instances in "+t.Namespace)
	}
	out := []Instance{}
	for _, st := range l.Items {
		typ := st.Labels[LabelType]
		tpl := templates[typ]
		in := Instance{Name: st.Name, Type: typ, Plan: st.Labels[LabelPlan], Ready: st.Status.ReadyReplicas >= 1,
			Host: fmt.Sprintf("%s.%s.svc.cluster.local", st.Name, t.Namespace), Port: tpl.port, User: tpl.user, Secret: st.Name + "-credentials"}
		if len(st.Spec.VolumeClaimTemplates) > 0 {
			q := st.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
			in.Storage = q.String()
		}
		out = append(out, in)
	}
	return out, nil
}

// Credentials are an instance's connection details with its user and password.
type Credentials struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Host     string `json:"host"`
	Port     int32  `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// Credentials reads an instance's user and password from its Secret, as the person (who needs
// read access to Secrets in the namespace: operators).
func (s *Service) Credentials(ctx context.Context, t apps.Target, name string) (*Credentials, error) {
	list, err := s.List(ctx, t)
	if err != nil {
		return nil, err
	}
	for _, in := range list {
		if in.Name != name {
			continue
		}
		cs, err := s.kube.As(t.As)
		if err != nil {
			return nil, err
		}
		sec, err := cs.CoreV1().Secrets(t.Namespace).Get(ctx, in.Secret, metav1.GetOptions{})
		if err != nil {
			return nil, perr.FromAPI(err, "read the credentials of "+name)
		}
		return &Credentials{Name: in.Name, Type: in.Type, Host: in.Host, Port: in.Port,
			Username: string(sec.Data["username"]), Password: string(sec.Data["password"])}, nil
	}
	return nil, perr.New(perr.NotFound, "service instance %s not found in %s", name, t.Namespace)
}

// Delete removes an instance and its data (StatefulSet, Service, Secret and PVCs).
func (s *Service) Delete(ctx context.Context, t apps.Target, name string, o apps.WriteOptions) (*apps.Change, error) {
	if err := apps.ValidateName(name); err != nil {
		return nil, err
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	st, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, perr.FromAPI(err, "service instance "+ns+"/"+name)
	}
	if st.Labels[LabelInstance] != name {
		return nil, perr.New(perr.Invalid, "%s is not a service catalog instance", name)
	}
	var dry []string
	if o.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	del := metav1.DeleteOptions{DryRun: dry}
	ch := &apps.Change{DryRun: o.DryRun, Summary: fmt.Sprintf("DELETE %s instance %s in %s and ALL ITS DATA (volumes cannot be recovered)", st.Labels[LabelType], name, ns)}
	steps := []struct {
		kind string
		name string
		f    func() error
	}{
		{"StatefulSet", name, func() error { return cs.AppsV1().StatefulSets(ns).Delete(ctx, name, del) }},
		{"Service", name, func() error { return cs.CoreV1().Services(ns).Delete(ctx, name, del) }},
		{"Secret", name + "-credentials", func() error { return cs.CoreV1().Secrets(ns).Delete(ctx, name+"-credentials", del) }},
	}
	for _, step := range steps {
		if err := step.f(); err != nil && !apierrors.IsNotFound(err) {
			return nil, perr.FromAPI(err, "delete "+step.kind+" "+ns+"/"+step.name)
		}
		ch.Objects = append(ch.Objects, apps.ObjectChange{Kind: step.kind, Name: ns + "/" + step.name, Action: "delete"})
	}
	pvcs, err := cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelInstance + "=" + name})
	if err != nil {
		return nil, perr.FromAPI(err, "list volumes of "+name)
	}
	for _, p := range pvcs.Items {
		if err := cs.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, p.Name, del); err != nil && !apierrors.IsNotFound(err) {
			return nil, perr.FromAPI(err, "delete volume "+ns+"/"+p.Name)
		}
		ch.Objects = append(ch.Objects, apps.ObjectChange{Kind: "PersistentVolumeClaim", Name: ns + "/" + p.Name, Action: "delete"})
	}
	return ch, nil
}
