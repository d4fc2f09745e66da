// Package kube gives the platform its Kubernetes clients: the service's own identity for
// platform work, and impersonating clients for everything done on behalf of a person, so the
// API server's RBAC is the final guard of tenant isolation.
package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Identity is the person an action is performed for.
type Identity struct {
	// User is the Kubernetes user name: the platform user's e-mail.
	User string
	// Groups are extra groups (the platform adds UsersGroup).
	Groups []string
}

// UsersGroup is a group every platform user is impersonated with.
const UsersGroup = "k8s-manage:users"

// Clients builds clientsets for the service and for impersonated people.
type Clients struct {
	admin *rest.Config
	cs    kubernetes.Interface
}

// Options configures how the cluster is reached.
type Options struct {
	// Kubeconfig is a kubeconfig path; empty means in-cluster configuration.
	Kubeconfig string
	// QPS and Burst are the client-side rate limits of the service's own identity.
	QPS   float32
	Burst int
}

// Load builds Clients from a kubeconfig or the in-cluster service account.
func Load(opts Options) (*Clients, error) {
	var cfg *rest.Config
	var err error
	if opts.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("cluster configuration: %w", err)
	}
	if opts.QPS > 0 {
		cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	}
	return New(cfg)
}

// New wraps an admin configuration.
func New(admin *rest.Config) (*Clients, error) {
	if admin == nil {
		return nil, errors.New("kube: nil rest config")
	}
	cfg := rest.CopyConfig(admin)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 100, 200
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	return &Clients{admin: cfg, cs: cs}, nil
}

// Admin is the service's own identity, for platform work (tenant set-up, metering). Never use
// it for an action requested by a person.
func (c *Clients) Admin() kubernetes.Interface { return c.cs }

// As returns a clientset that impersonates id.
func (c *Clients) As(id Identity) (kubernetes.Interface, error) {
	if id.User == "" {
		return nil, errors.New("kube: impersonation needs a user")
	}
	cfg := rest.CopyConfig(c.admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: id.User, Groups: append([]string{UsersGroup}, id.Groups...)}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: client for %s: %w", id.User, err)
	}
	return cs, nil
}

// RESTConfig returns a copy of the admin configuration.
func (c *Clients) RESTConfig() *rest.Config { return rest.CopyConfig(c.admin) }

// RESTConfigAs returns a configuration that impersonates id (for streaming calls such as exec).
func (c *Clients) RESTConfigAs(id Identity) (*rest.Config, error) {
	if id.User == "" {
		return nil, errors.New("kube: impersonation needs a user")
	}
	cfg := rest.CopyConfig(c.admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: id.User, Groups: append([]string{UsersGroup}, id.Groups...)}
	return cfg, nil
}

// Ready asks the API server's /readyz (5 s at most).
func (c *Clients) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, err := c.cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("API server not ready: %w", err)
	}
	if string(body) != "ok" {
		return fmt.Errorf("API server not ready: %s", body)
	}
	return nil
}

// Close drops the idle connections to the API server (client-go shares its transports, so
// nothing else is held): a stopped service leaves no connection goroutines behind.
func (c *Clients) Close() error {
	rt, err := rest.TransportFor(c.admin)
	if err != nil {
		return fmt.Errorf("kube: %w", err)
	}
	utilnet.CloseIdleConnectionsFor(rt)
	return nil
}
