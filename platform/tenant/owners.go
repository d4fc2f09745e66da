package tenant

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Owners reads which tenant and environment a namespace belongs to from its labels (the ones
// createEnvironment sets), cached for TTL. A namespace that does not exist, or carries no
// labels, belongs to no tenant ("", "").
type Owners struct {
	cs    kubernetes.Interface
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	cache map[string]owner
}

type owner struct {
	tenant, env string
	at          time.Time
}

// OwnersOptions configure Owners.
type OwnersOptions struct {
	// TTL is how long an answer is reused (default one minute).
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewOwners builds the cache over an admin client.
func NewOwners(cs kubernetes.Interface, o OwnersOptions) *Owners {
	if o.TTL <= 0 {
		o.TTL = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Owners{cs: cs, ttl: o.TTL, now: o.Now, cache: map[string]owner{}}
}

// Owner returns the tenant and environment of namespace ns.
func (n *Owners) Owner(ctx context.Context, ns string) (string, string, error) {
	n.mu.Lock()
	o, ok := n.cache[ns]
	n.mu.Unlock()
	if ok && n.now().Sub(o.at) < n.ttl {
		return o.tenant, o.env, nil
	}
	got, err := n.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		o = owner{at: n.now()}
	case err != nil:
		return "", "", fmt.Errorf("read namespace %s: %w", ns, err)
	default:
		o = owner{tenant: got.Labels[LabelTenant], env: got.Labels[LabelEnv], at: n.now()}
	}
	n.mu.Lock()
	n.cache[ns] = o
	n.mu.Unlock()
	return o.tenant, o.env, nil
}
