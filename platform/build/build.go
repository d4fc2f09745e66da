// Package build runs application builds as Kubernetes Jobs in the tenant's namespace: Dockerfile
// builds with the kaniko executor, others with Cloud Native Buildpacks, pushing to the configured
// (Harbor-compatible) registry with robot credentials from a Secret. Build records (repository,
// ref, commit, author, message, image, status, timings, log) live in the store; a successful build
// is an artifact (image and digest) that can be deployed or rolled back to. Builds start from the
// agent's trigger_build tool, the API, or signed git webhooks (webhook.go).
package build

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"k8s-manage/internal/textutil"
	"path"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/internal/store"
	"k8s-manage/platform/apps"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// Registry is where images are pushed.
type Registry struct {
	Host    string // e.g. harbor.example.com
	Project string // Harbor project; default: the tenant name
	// CredentialsSecret is a kubernetes.io/dockerconfigjson Secret in each tenant namespace.
	CredentialsSecret string
}

// Images the build pods run.
const (
	KanikoImage     = "gcr.io/kaniko-project/executor:v1.23.2"
	BuildpacksImage = "buildpacksio/lifecycle:0.20.5"
)

// Service manages sources and builds.
type Service struct {
	db       *store.Store
	kube     *kube.Clients
	keys     *pconfig.Keyring
	registry Registry
	now      func() time.Time
}

// NewService builds a Service.
func NewService(db *store.Store, clients *kube.Clients, keys *pconfig.Keyring, reg Registry, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if reg.CredentialsSecret == "" {
		reg.CredentialsSecret = "registry-credentials"
	}
	return &Service{db: db, kube: clients, keys: keys, registry: reg, now: now}
}

// Source says where an app's code is and how it builds.
type Source struct {
	Tenant, Env, App string
	RepoURL          string
	// Branches are patterns (path.Match) of branches whose pushes build, e.g. ["main", "release/*"].
	Branches   []string
	Builder    string // kaniko (default) or buildpacks
	Dockerfile string
	// WebhookSecret verifies webhook deliveries; stored encrypted.
	WebhookSecret string
}

func (s *Source) validate() error {
	if err := apps.ValidateName(s.App); err != nil {
		return err
	}
	if s.Tenant == "" || s.Env == "" {
		return perr.Invalidf("tenant", "tenant and env are required")
	}
	if !strings.HasPrefix(s.RepoURL, "https://") && !strings.HasPrefix(s.RepoURL, "http://") {
		return perr.Invalidf("repo_url", "%q must be an http(s) git URL", s.RepoURL)
	}
	if len(s.Branches) == 0 {
		s.Branches = []string{"main"}
	}
	for _, b := range s.Branches {
		if _, err := path.Match(b, "x"); err != nil {
			return perr.Invalidf("branches", "%q is not a valid pattern", b)
		}
	}
	switch s.Builder {
	case "":
		s.Builder = "kaniko"
	case "kaniko", "buildpacks":
	default:
		return perr.Invalidf("builder", "must be kaniko or buildpacks, got %q", s.Builder)
	}
	if s.Dockerfile == "" {
		s.Dockerfile = "Dockerfile"
	}
	if len(s.WebhookSecret) < 16 {
		return perr.Invalidf("webhook_secret", "must be at least 16 characters")
	}
	return nil
}

func normalizeRepo(u string) string {
	u = strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(u)), "/"), ".git")
	return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
}

// Register stores (or replaces) an app's source.
func (s *Service) Register(ctx context.Context, src Source) error {
	if err := src.validate(); err != nil {
		return err
	}
	keyID, ct, err := s.keys.Encrypt([]byte(src.WebhookSecret), []byte("webhook|"+src.Tenant+"|"+src.Env+"|"+src.App))
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO build_sources (tenant, env, app, repo_url, branches, builder, dockerfile, secret_ct, secret_key_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, env, app) DO UPDATE SET repo_url = excluded.repo_url, branches = excluded.branches,
		builder = excluded.builder, dockerfile = excluded.dockerfile, secret_ct = excluded.secret_ct, secret_key_id = excluded.secret_key_id`,
		src.Tenant, src.Env, src.App, normalizeRepo(src.RepoURL), strings.Join(src.Branches, ","), src.Builder, src.Dockerfile, ct, keyID, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("build: register source: %w", err)
	}
	return nil
}

type source struct {
	Source
	repoKey string
}

// SourceInfo is a registered source as people see it: never its webhook secret.
type SourceInfo struct {
	App        string   `json:"app"`
	RepoURL    string   `json:"repo_url"`
	Branches   []string `json:"branches"`
	Builder    string   `json:"builder"`
	Dockerfile string   `json:"dockerfile"`
}

// Sources lists the environment's registered sources by app.
func (s *Service) Sources(ctx context.Context, tenantName, env string) ([]SourceInfo, error) {
	list, err := s.sources(ctx, "tenant = ? AND env = ? ORDER BY app", tenantName, env)
	if err != nil {
		return nil, err
	}
	out := make([]SourceInfo, 0, len(list))
	for _, x := range list {
		out = append(out, SourceInfo{App: x.App, RepoURL: x.RepoURL, Branches: x.Branches, Builder: x.Builder, Dockerfile: x.Dockerfile})
	}
	return out, nil
}

func (s *Service) sources(ctx context.Context, where string, args ...any) ([]source, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant, env, app, repo_url, branches, builder, dockerfile, secret_ct, secret_key_id FROM build_sources WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("build: sources: %w", err)
	}
	defer rows.Close()
	var out []source
	for rows.Next() {
		var x source
		var branches, keyID string
		var ct []byte
		if err := rows.Scan(&x.Tenant, &x.Env, &x.App, &x.repoKey, &branches, &x.Builder, &x.Dockerfile, &ct, &keyID); err != nil {
			return nil, err
		}
		pt, err := s.keys.Decrypt(keyID, ct, []byte("webhook|"+x.Tenant+"|"+x.Env+"|"+x.App))
		if err != nil {
			return nil, err
		}
		x.WebhookSecret, x.Branches, x.RepoURL = string(pt), strings.Split(branches, ","), "https://"+x.repoKey
		out = append(out, x)
	}
	return out, rows.Err()
}

// Build is one build record.
type Build struct {
	ID       string    `json:"id"`
	Tenant   string    `json:"tenant"`
	Env      string    `json:"env"`
	App      string    `json:"app"`
	RepoURL  string    `json:"repo_url"`
	Ref      string    `json:"ref"`
	Commit   string    `json:"commit"`
	Author   string    `json:"author"`
	Message  string    `json:"message"`
	Image    string    `json:"image"`
	Digest   string    `json:"digest,omitempty"`
	Status   string    `json:"status"`
	Trigger  string    `json:"trigger"`
	Job      string    `json:"job"`
	Log      string    `json:"log,omitempty"`
	Created  time.Time `json:"created"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
}

// Trigger is a request to build.
type Trigger struct {
	Tenant, Env, App string
	Ref              string // branch or tag
	Commit           string
	Author, Message  string
	By               string // webhook:<provider>, tool or api
}

var tagUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Start creates the build Job (as cs: the person for tool/API builds, the service for webhooks)
// and records the build. If the Job cannot be created, nothing is recorded.
func (s *Service) Start(ctx context.Context, cs kubernetes.Interface, t Trigger) (*Build, error) {
	srcs, err := s.sources(ctx, "tenant = ? AND env = ? AND app = ?", t.Tenant, t.Env, t.App)
	if err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		return nil, perr.New(perr.NotFound, "app %s has no registered source in %s/%s: register its repository first", t.App, t.Tenant, t.Env)
	}
	src := srcs[0]
	if t.Ref == "" {
		t.Ref = src.Branches[0]
	}
	ns := tenant.Namespace(t.Tenant, t.Env)
	b := &Build{ID: newID(), Tenant: t.Tenant, Env: t.Env, App: t.App, RepoURL: src.RepoURL, Ref: t.Ref, Commit: t.Commit,
		Author: t.Author, Message: firstLine(t.Message), Status: "pending", Trigger: t.By, Created: s.now()}
	short := t.Commit
	if len(short) > 7 {
		short = short[:7]
	}
	tag := strings.Trim(tagUnsafe.ReplaceAllString(t.Ref, "-"), "-.")
	if short != "" {
		tag += "-" + short
	}
	project := s.registry.Project
	if project == "" {
		project = t.Tenant
	}
	b.Image = fmt.Sprintf("%s/%s/%s:%s", s.registry.Host, project, t.App, tag)
	b.Job = "build-" + t.App + "-" + b.ID
	job := s.job(src, b)
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return nil, perr.FromAPI(err, "create build job "+ns+"/"+b.Job)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO builds (id, tenant, env, app, repo_url, ref, commit_sha, author, message, image, status, trigger, job, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, b.ID, b.Tenant, b.Env, b.App, b.RepoURL, b.Ref, b.Commit, b.Author, b.Message,
		b.Image, b.Status, b.Trigger, b.Job, b.Created.UnixMilli())
	if err != nil {
		_ = cs.BatchV1().Jobs(ns).Delete(context.WithoutCancel(ctx), b.Job, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)})
		return nil, fmt.Errorf("build: record: %w", err)
	}
	return b, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return textutil.Truncate(l, 200)
}

func ptr[T any](v T) *T { return &v }

// job is the Kubernetes Job of a build.
func (s *Service) job(src source, b *Build) *batchv1.Job {
	gitContext := fmt.Sprintf("git://%s#refs/heads/%s", src.repoKey, b.Ref)
	if b.Commit != "" {
		gitContext += "#" + b.Commit
	}
	var c corev1.Container
	switch src.Builder {
	case "buildpacks":
		c = corev1.Container{Name: "build", Image: BuildpacksImage, Command: []string{"/cnb/lifecycle/creator"},
			Args: []string{"-app=/workspace", "-report=/dev/termination-log", b.Image},
			Env:  []corev1.EnvVar{{Name: "CNB_PLATFORM_API", Value: "0.12"}, {Name: "GIT_URL", Value: src.RepoURL}, {Name: "GIT_REF", Value: b.Ref}}}
	default:
		c = corev1.Container{Name: "build", Image: KanikoImage,
			Args: []string{"--context=" + gitContext, "--dockerfile=" + src.Dockerfile, "--destination=" + b.Image,
				"--digest-file=/dev/termination-log", "--cache=true"}}
	}
	c.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: mustQty("500m"), corev1.ResourceMemory: mustQty("1Gi")},
		Limits: corev1.ResourceList{corev1.ResourceCPU: mustQty("2"), corev1.ResourceMemory: mustQty("4Gi")}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "registry-credentials", MountPath: "/kaniko/.docker", ReadOnly: true}}
	labels := map[string]string{apps.LabelManagedBy: apps.ManagedBy, "k8s-manage.io/build": b.ID, "k8s-manage.io/build-app": b.App}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: b.Job, Labels: labels, Annotations: map[string]string{"k8s-manage.io/commit": b.Commit, "k8s-manage.io/ref": b.Ref}},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr(int32(0)),
			TTLSecondsAfterFinished: ptr(int32(86400)),
			ActiveDeadlineSeconds:   ptr(int64(3600)),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{c},
				Volumes: []corev1.Volume{{Name: "registry-credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
					SecretName: s.registry.CredentialsSecret, Optional: ptr(true),
					Items: []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: "config.json"}}}}}},
			}},
		},
	}
}

// Sync follows the Jobs of unfinished builds (as the service) and records status, timings, the
// log tail and, on success, the image digest.
func (s *Service) Sync(ctx context.Context, tenantName, env string) error {
	bs, err := s.List(ctx, tenantName, env, "", 100)
	if err != nil {
		return err
	}
	cs := s.kube.Admin()
	for _, b := range bs {
		if b.Status == "succeeded" || b.Status == "failed" {
			continue
		}
		ns := tenant.Namespace(b.Tenant, b.Env)
		job, err := cs.BatchV1().Jobs(ns).Get(ctx, b.Job, metav1.GetOptions{})
		if err != nil {
			continue
		}
		status := b.Status
		var started, finished int64
		if job.Status.StartTime != nil {
			status, started = "running", job.Status.StartTime.UnixMilli()
		}
		for _, c := range job.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				continue
			}
			switch c.Type {
			case batchv1.JobComplete:
				status = "succeeded"
			case batchv1.JobFailed:
				status = "failed"
			}
			if status == "succeeded" || status == "failed" {
				finished = c.LastTransitionTime.UnixMilli()
			}
		}
		log, digest := s.podOutput(ctx, cs, ns, b.ID)
		if _, err := s.db.ExecContext(ctx, `UPDATE builds SET status = ?, started_at = CASE WHEN ? > 0 THEN ? ELSE started_at END,
			finished_at = ?, log = CASE WHEN ? <> '' THEN ? ELSE log END, digest = ? WHERE id = ?`,
			status, started, started, finished, log, log, digest, b.ID); err != nil {
			return fmt.Errorf("build: sync %s: %w", b.ID, err)
		}
	}
	return nil
}

// podOutput reads the build pod's log tail and its termination message (the digest kaniko writes).
func (s *Service) podOutput(ctx context.Context, cs kubernetes.Interface, ns, id string) (string, string) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "k8s-manage.io/build=" + id})
	if err != nil || len(pods.Items) == 0 {
		return "", ""
	}
	p := pods.Items[0]
	digest := ""
	for _, st := range p.Status.ContainerStatuses {
		if t := st.State.Terminated; t != nil && strings.HasPrefix(strings.TrimSpace(t.Message), "sha256:") {
			digest = strings.TrimSpace(t.Message)
		}
	}
	tail := int64(100)
	raw, err := cs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
	if err != nil {
		return "", digest
	}
	return string(raw), digest
}

const buildColumns = `id, tenant, env, app, repo_url, ref, commit_sha, author, message, image, digest, status, trigger, job, log, created_at, started_at, finished_at`

func scanBuild(r interface{ Scan(...any) error }) (*Build, error) {
	var b Build
	var c, st, f int64
	if err := r.Scan(&b.ID, &b.Tenant, &b.Env, &b.App, &b.RepoURL, &b.Ref, &b.Commit, &b.Author, &b.Message, &b.Image, &b.Digest,
		&b.Status, &b.Trigger, &b.Job, &b.Log, &c, &st, &f); err != nil {
		return nil, err
	}
	b.Created = time.UnixMilli(c)
	if st > 0 {
		b.Started = time.UnixMilli(st)
	}
	if f > 0 {
		b.Finished = time.UnixMilli(f)
	}
	return &b, nil
}

// List returns the newest builds of an environment (of one app when app is set), logs left out.
func (s *Service) List(ctx context.Context, tenantName, env, app string, limit int) ([]*Build, error) {
	q := "SELECT " + buildColumns + " FROM builds WHERE tenant = ? AND env = ?"
	args := []any{tenantName, env}
	if app != "" {
		q += " AND app = ?"
		args = append(args, app)
	}
	q += fmt.Sprintf(" ORDER BY created_at DESC, id LIMIT %d", max(1, min(limit, 200)))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("build: list: %w", err)
	}
	defer rows.Close()
	var out []*Build
	for rows.Next() {
		b, err := scanBuild(rows)
		if err != nil {
			return nil, err
		}
		b.Log = ""
		out = append(out, b)
	}
	return out, rows.Err()
}

// Get returns one build with its log.
func (s *Service) Get(ctx context.Context, tenantName, env, id string) (*Build, error) {
	b, err := scanBuild(s.db.QueryRowContext(ctx, "SELECT "+buildColumns+" FROM builds WHERE tenant = ? AND env = ? AND id = ?", tenantName, env, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, perr.New(perr.NotFound, "build %s not found in %s/%s", id, tenantName, env)
	}
	return b, err
}

func mustQty(s string) resource.Quantity { return resource.MustParse(s) }

// Deploy puts a successful build's image (pinned by digest when known) on its app, through the
// apps API as the person: deploying an earlier build is the one-step rollback to that artifact.
func (s *Service) Deploy(ctx context.Context, appsSvc *apps.Service, as kube.Identity, tenantName, env, id string, o apps.WriteOptions) (*apps.Change, error) {
	b, err := s.Get(ctx, tenantName, env, id)
	if err != nil {
		return nil, err
	}
	if b.Status != "succeeded" {
		return nil, perr.New(perr.Invalid, "build %s is %s: only a successful build is an artifact", id, b.Status)
	}
	img := b.Image
	if b.Digest != "" {
		repo := b.Image
		if colon := strings.LastIndex(repo, ":"); colon > strings.LastIndex(repo, "/") {
			repo = repo[:colon] // drop the tag; the registry host's port stays
		}
		img = repo + "@" + b.Digest
	}
	return appsSvc.SetImage(ctx, apps.Target{As: as, Namespace: tenant.Namespace(tenantName, env)}, b.App, img, o)
}
