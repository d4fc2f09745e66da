// Package sandboxtest gives integration tests the real control plane: the sandbox is started
// once per `go test` process (or a running one is reused; a file lock keeps parallel test
// binaries from starting two), and every test gets its own namespaces, deleted when it ends.
package sandboxtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"k8s-manage/hack/sandbox"
)

// Env is the shared sandbox as a test sees it.
type Env struct {
	Sandbox *sandbox.Sandbox
	// Admin is the cluster-admin configuration; copy it before changing fields.
	Admin  *rest.Config
	Client kubernetes.Interface
	// BinDir holds the sandbox binaries (kubectl, prometheus, ...).
	BinDir string
}

var shared struct {
	once sync.Once
	env  *Env
	err  error
}

// Start returns the shared sandbox, starting it on first use.
//
// Under `go test -short` it skips the test: the short tier runs without a control plane.
func Start(t testing.TB) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the sandbox control plane: runs in the full tier (make test), not under -short")
	}
	shared.once.Do(func() { shared.env, shared.err = start() })
	if shared.err != nil {
		t.Fatalf("sandbox: %v", shared.err)
	}
	return shared.env
}

func start() (*Env, error) {
	sb, err := sandbox.New(sandbox.Options{Out: os.Stderr})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	// Serialise test binaries that start at the same moment (go test runs packages in parallel).
	lockDir := filepath.Dir(sb.KubeconfigPath())
	if err := os.MkdirAll(filepath.Dir(lockDir), 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(lockDir), "up.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	info, err := sb.Up(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := sb.RESTConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Env{Sandbox: sb, Admin: cfg, Client: cs, BinDir: info.BinDir}, nil
}

// Namespace creates a namespace unique to this test (prefix plus random suffix) with the given
// labels, deleted when the test ends.
func (e *Env) Namespace(t testing.TB, prefix string, labels map[string]string) string {
	t.Helper()
	name := Name(prefix)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := e.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() { e.DeleteNamespace(name) })
	return name
}

// DeleteNamespace removes a namespace in the background (best effort, for cleanups).
func (e *Env) DeleteNamespace(name string) {
	_ = e.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
}

// Name returns prefix plus a short random suffix, valid as a Kubernetes name.
func Name(prefix string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(prefix) + "-" + hex.EncodeToString(b[:])
}
