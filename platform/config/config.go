// Package config is the platform's config center: each app's configuration per environment,
// every version kept in the store with its author, secret values encrypted at rest (AES-GCM with
// rotatable keys) and never returned in plaintext unless revealed. Values are applied to the app's
// ConfigMap (<app>-config) and Secret (<app>-secrets) through the person's identity, and the app
// reloads them: a rolling restart triggered by a checksum annotation, or in place for apps that
// watch their mounted files.
package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"k8s-manage/internal/store"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/diff"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// Masked replaces secret values wherever they are shown.
const Masked = "******"

// ChecksumAnnotation on an app's pod template rolls the app when its configuration changes.
const ChecksumAnnotation = "k8s-manage.io/config-checksum"

// Service manages configuration.
type Service struct {
	db   *store.Store
	kube *kube.Clients
	keys *Keyring
	now  func() time.Time
}

// NewService builds a Service; now is the clock (nil means time.Now).
func NewService(db *store.Store, clients *kube.Clients, keys *Keyring, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, kube: clients, keys: keys, now: now}
}

// Ref names an app's configuration in one environment.
type Ref struct {
	Tenant, Env, App string
}

func (r Ref) namespace() string { return tenant.Namespace(r.Tenant, r.Env) }

// ConfigMapName and SecretName are the app's cluster objects.
func ConfigMapName(app string) string { return app + "-config" }
func SecretName(app string) string    { return app + "-secrets" }

// Item is one key's current (or historical) value.
type Item struct {
	Key       string    `json:"key"`
	Value     string    `json:"value"`
	Secret    bool      `json:"secret"`
	Version   int64     `json:"version"`
	Deleted   bool      `json:"deleted,omitempty"`
	Author    string    `json:"author"`
	UpdatedAt time.Time `json:"updated_at"`
}

var keyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,252}$`)

func (r Ref) validate() error {
	switch {
	case r.Tenant == "":
		return perr.Invalidf("tenant", "is required")
	case r.Env == "":
		return perr.Invalidf("env", "is required")
	}
	return apps.ValidateName(r.App)
}

func aad(r Ref, key string, version int64) []byte {
	return []byte(fmt.Sprintf("%s|%s|%s|%s|%d", r.Tenant, r.Env, r.App, key, version))
}

type row struct {
	Item
	ciphertext []byte
	keyID      string
}

// rows returns every version (all=true) or the current version of each key.
func (s *Service) rows(ctx context.Context, q store.Querier, r Ref, key string, all bool) ([]row, error) {
	query := `SELECT item, version, secret, value, ciphertext, key_id, deleted, author, created_at FROM config_versions
		WHERE tenant = ? AND env = ? AND app = ?`
	args := []any{r.Tenant, r.Env, r.App}
	if key != "" {
		query += " AND item = ?"
		args = append(args, key)
	}
	query += " ORDER BY item, version"
	rs, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("config: read %s/%s/%s: %w", r.Tenant, r.Env, r.App, err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var x row
		var secret, deleted int
		var created int64
		if err := rs.Scan(&x.Key, &x.Version, &secret, &x.Value, &x.ciphertext, &x.keyID, &deleted, &x.Author, &created); err != nil {
			return nil, err
		}
		x.Secret, x.Deleted, x.UpdatedAt = secret == 1, deleted == 1, time.UnixMilli(created)
		out = append(out, x)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if all {
		return out, nil
	}
	latest := map[string]row{}
	for _, x := range out {
		latest[x.Key] = x
	}
	var cur []row
	for _, k := range slices.Sorted(maps.Keys(latest)) {
		if !latest[k].Deleted {
			cur = append(cur, latest[k])
		}
	}
	return cur, nil
}

func (s *Service) plain(r Ref, x row) (string, error) {
	if !x.Secret || x.Deleted {
		return x.Value, nil
	}
	pt, err := s.keys.Decrypt(x.keyID, x.ciphertext, aad(r, x.Key, x.Version))
	if err != nil {
		return "", fmt.Errorf("config: %s of %s: %w", x.Key, r.App, err)
	}
	return string(pt), nil
}

// Get returns the app's current configuration. Secret values are masked unless reveal is set:
// only callers holding the reveal permission may pass it (the chat tools never do).
func (s *Service) Get(ctx context.Context, r Ref, reveal bool) ([]Item, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	rows, err := s.rows(ctx, s.db, r, "", false)
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(rows))
	for _, x := range rows {
		it := x.Item
		if x.Secret {
			it.Value = Masked
			if reveal {
				if it.Value, err = s.plain(r, x); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// History lists every version of a key (secret values masked).
func (s *Service) History(ctx context.Context, r Ref, key string) ([]Item, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	rows, err := s.rows(ctx, s.db, r, key, true)
	if err != nil {
		return nil, err
	}
	out := make([]Item, len(rows))
	for i, x := range rows {
		out[i] = x.Item
		if x.Secret {
			out[i].Value = Masked
		}
	}
	return out, nil
}

// Version is one version of a key as a timeline shows it: the app, the item (secret values
// masked) and the value it replaced.
type Version struct {
	App string `json:"app"`
	Item
	Previous    string `json:"previous,omitempty"`
	HadPrevious bool   `json:"had_previous,omitempty"`
}

// Since lists the versions written in a tenant environment at or after t, with the values they
// replaced (secret values masked).
func (s *Service) Since(ctx context.Context, tenantName, env string, t time.Time) ([]Version, error) {
	rs, err := s.db.QueryContext(ctx, `SELECT app, item, version, secret, value, deleted, author, created_at FROM config_versions
		WHERE tenant = ? AND env = ? ORDER BY app, item, version`, tenantName, env)
	if err != nil {
		return nil, fmt.Errorf("config: read %s/%s: %w", tenantName, env, err)
	}
	defer rs.Close()
	var out []Version
	var prev Version
	for rs.Next() {
		var v Version
		var secret, deleted int
		var created int64
		if err := rs.Scan(&v.App, &v.Key, &v.Version, &secret, &v.Value, &deleted, &v.Author, &created); err != nil {
			return nil, err
		}
		v.Secret, v.Deleted, v.UpdatedAt = secret == 1, deleted == 1, time.UnixMilli(created)
		if v.Secret {
			v.Value = Masked
		}
		if prev.App == v.App && prev.Key == v.Key && !prev.Deleted {
			v.Previous, v.HadPrevious = prev.Value, true
		}
		prev = v
		if !v.UpdatedAt.Before(t) {
			out = append(out, v)
		}
	}
	return out, rs.Err()
}

// SetOptions configure Set.
type SetOptions struct {
	Secret bool
	// InPlace skips the rolling restart: for apps that watch their mounted config files.
	InPlace bool
	DryRun  bool
	// Delete removes the key instead of setting it.
	Delete bool
}

// Set writes one key: a new version in the store, the app's ConfigMap or Secret in the cluster
// (as the person), and a reload of the app. If the cluster refuses, nothing is stored.
func (s *Service) Set(ctx context.Context, as kube.Identity, r Ref, key, value string, o SetOptions) (*apps.Change, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if !keyRe.MatchString(key) {
		return nil, perr.Invalidf("key", "%q must be a variable name (letters, digits, _ . -)", key)
	}
	if len(value) > 512*1024 {
		return nil, perr.Invalidf("value", "is larger than 512 KiB")
	}
	cs, err := s.kube.As(as)
	if err != nil {
		return nil, err
	}
	shown := value
	if o.Secret {
		shown = Masked
	}
	verb := "set"
	if o.Delete {
		verb, shown = "delete", ""
	}
	ch := &apps.Change{DryRun: o.DryRun, Summary: fmt.Sprintf("%s %s %s of %s in %s", verb, kind(o.Secret), key, r.App, r.namespace())}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := s.rows(ctx, tx, r, "", false)
		if err != nil {
			return err
		}
		var version int64 = 1
		all, err := s.rows(ctx, tx, r, key, true)
		if err != nil {
			return err
		}
		if len(all) > 0 {
			version = all[len(all)-1].Version + 1
			if o.Delete && all[len(all)-1].Deleted {
				return perr.New(perr.NotFound, "%s has no key %s", r.App, key)
			}
		} else if o.Delete {
			return perr.New(perr.NotFound, "%s has no key %s", r.App, key)
		}
		// The desired content of the app's ConfigMap and Secret after this change.
		data, secrets := map[string]string{}, map[string]string{}
		for _, x := range cur {
			if x.Key == key {
				continue
			}
			v, err := s.plain(r, x)
			if err != nil {
				return err
			}
			if x.Secret {
				secrets[x.Key] = v
			} else {
				data[x.Key] = v
			}
		}
		if !o.Delete {
			if o.Secret {
				secrets[key] = value
			} else {
				data[key] = value
			}
		}
		objs, err := s.apply(ctx, cs, r, data, secrets, key, shown, o)
		ch.Objects = append(ch.Objects, objs...)
		if err != nil || o.DryRun {
			return err // a dry run stores nothing either
		}
		var plain string
		var ct []byte
		var keyID string
		if o.Secret && !o.Delete {
			if keyID, ct, err = s.keys.Encrypt([]byte(value), aad(r, key, version)); err != nil {
				return err
			}
		} else if !o.Delete {
			plain = value
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO config_versions (tenant, env, app, item, version, secret, value, ciphertext, key_id, deleted, author, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Tenant, r.Env, r.App, key, version, b2i(o.Secret), plain, ct, keyID, b2i(o.Delete),
			as.User, s.now().UnixMilli())
		if err != nil {
			return fmt.Errorf("config: store %s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

func kind(secret bool) string {
	if secret {
		return "secret"
	}
	return "config"
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// apply upserts the ConfigMap or Secret and reloads the app; with DryRun the API server checks
// it all and nothing persists.
func (s *Service) apply(ctx context.Context, cs kubernetes.Interface, r Ref, data, secrets map[string]string, key, shown string, o SetOptions) ([]apps.ObjectChange, error) {
	ns := r.namespace()
	var dry []string
	if o.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	labels := map[string]string{apps.LabelApp: r.App, apps.LabelManagedBy: apps.ManagedBy}
	var out []apps.ObjectChange
	if o.Secret {
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName(r.App), Namespace: ns, Labels: labels}, StringData: secrets, Type: corev1.SecretTypeOpaque}
		act, err := upsertSecret(ctx, cs, sec, dry)
		if err != nil {
			return nil, perr.FromAPI(err, "write secret "+ns+"/"+sec.Name)
		}
		out = append(out, apps.ObjectChange{Kind: "Secret", Name: ns + "/" + sec.Name, Action: act, Diff: []diff.Change{{Path: "data." + key, To: shown}}})
	} else {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName(r.App), Namespace: ns, Labels: labels}, Data: data}
		live, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
		act := "create"
		switch {
		case apierrors.IsNotFound(err):
			_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{DryRun: dry})
		case err == nil:
			act = "update"
			next := live.DeepCopy()
			next.Data = data
			_, err = cs.CoreV1().ConfigMaps(ns).Update(ctx, next, metav1.UpdateOptions{DryRun: dry})
		}
		if err != nil {
			return nil, perr.FromAPI(err, "write config map "+ns+"/"+cm.Name)
		}
		d, _ := diff.Objects(map[string]any{"data": dataOf(live)}, map[string]any{"data": data})
		out = append(out, apps.ObjectChange{Kind: "ConfigMap", Name: ns + "/" + cm.Name, Action: act, Diff: d})
	}
	if o.InPlace {
		return out, nil
	}
	sum := checksum(data, secrets)
	var oc *apps.ObjectChange
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, r.App, metav1.GetOptions{})
		if err != nil {
			return err
		}
		next := d.DeepCopy()
		wireConfig(next, r.App, sum)
		res, err := cs.AppsV1().Deployments(ns).Update(ctx, next, metav1.UpdateOptions{DryRun: dry})
		if err != nil {
			return err
		}
		dd, _ := diff.Objects(d, res)
		oc = &apps.ObjectChange{Kind: "Deployment", Name: ns + "/" + r.App, Action: "update", Diff: dd}
		return nil
	})
	switch {
	case apierrors.IsNotFound(err):
		return out, nil // no (rolling) app of that name: the objects are ready for when it exists
	case err != nil:
		return nil, perr.FromAPI(err, "reload app "+ns+"/"+r.App)
	}
	return append(out, *oc), nil
}

func dataOf(cm *corev1.ConfigMap) map[string]string {
	if cm == nil {
		return nil
	}
	return cm.Data
}

func upsertSecret(ctx context.Context, cs kubernetes.Interface, sec *corev1.Secret, dry []string) (string, error) {
	live, err := cs.CoreV1().Secrets(sec.Namespace).Get(ctx, sec.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cs.CoreV1().Secrets(sec.Namespace).Create(ctx, sec, metav1.CreateOptions{DryRun: dry})
		return "create", err
	}
	if err != nil {
		return "", err
	}
	next := live.DeepCopy()
	next.Data, next.StringData = nil, sec.StringData
	_, err = cs.CoreV1().Secrets(sec.Namespace).Update(ctx, next, metav1.UpdateOptions{DryRun: dry})
	return "update", err
}

// wireConfig makes the app's containers read its ConfigMap and Secret (optional references) and
// stamps the checksum that rolls it.
func wireConfig(d *appsv1.Deployment, app, sum string) {
	t := true
	for i := range d.Spec.Template.Spec.Containers {
		c := &d.Spec.Template.Spec.Containers[i]
		has := func(cm bool) bool {
			return slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool {
				return cm && e.ConfigMapRef != nil && e.ConfigMapRef.Name == ConfigMapName(app) || !cm && e.SecretRef != nil && e.SecretRef.Name == SecretName(app)
			})
		}
		if !has(true) {
			c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(app)}, Optional: &t}})
		}
		if !has(false) {
			c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: SecretName(app)}, Optional: &t}})
		}
	}
	if d.Spec.Template.Annotations == nil {
		d.Spec.Template.Annotations = map[string]string{}
	}
	d.Spec.Template.Annotations[ChecksumAnnotation] = sum
}

func checksum(data, secrets map[string]string) string {
	h := sha256.New()
	for _, m := range []map[string]string{data, secrets} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(h, "%s=%s\x00", k, m[k])
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// RotateKeys re-encrypts every secret that is not under the primary key; all stay readable.
func (s *Service) RotateKeys(ctx context.Context) (int, error) {
	type rec struct {
		id                     int64
		tenant, env, app, item string
		version                int64
		ct                     []byte
		keyID                  string
	}
	rs, err := s.db.QueryContext(ctx, `SELECT id, tenant, env, app, item, version, ciphertext, key_id FROM config_versions
		WHERE secret = 1 AND deleted = 0 AND key_id <> ?`, s.keys.Primary())
	if err != nil {
		return 0, fmt.Errorf("config: rotate: %w", err)
	}
	var todo []rec
	for rs.Next() {
		var x rec
		if err := rs.Scan(&x.id, &x.tenant, &x.env, &x.app, &x.item, &x.version, &x.ct, &x.keyID); err != nil {
			rs.Close()
			return 0, err
		}
		todo = append(todo, x)
	}
	rs.Close()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, x := range todo {
			r := Ref{Tenant: x.tenant, Env: x.env, App: x.app}
			pt, err := s.keys.Decrypt(x.keyID, x.ct, aad(r, x.item, x.version))
			if err != nil {
				return err
			}
			keyID, ct, err := s.keys.Encrypt(pt, aad(r, x.item, x.version))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE config_versions SET ciphertext = ?, key_id = ? WHERE id = ?", ct, keyID, x.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("config: rotate: %w", err)
	}
	return len(todo), nil
}
