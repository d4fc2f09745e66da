package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/config"
)

var errInjected = errors.New("injected start failure")

// failEachStep starts the app once to learn its steps, then once per step with that step
// failing: the start returns the failure, everything opened before the step is closed (the
// stack is empty, the store refuses queries) and no goroutine is left behind.
func failEachStep(t *testing.T, cfg config.Config, want []string) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	var steps []string
	a, err := startApp(ctx, cfg, log, func(_ *app, s string) error { steps = append(steps, s); return nil })
	if err != nil {
		t.Fatal(err)
	}
	opened := a.stack.Names()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(steps, want) {
		t.Fatalf("start steps = %v, want %v", steps, want)
	}
	t.Logf("steps %v; closers %v", steps, opened)
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			// The sandbox's kubeconfig embeds its certificates: a kubeconfig naming certificate
			// files gets a certificate-reloading goroutine tree per transport from client-go, which
			// its transport cache starts and stops with garbage collection, not with our Close.
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			var got *app
			var before []string
			_, err := startApp(ctx, cfg, log, func(a *app, s string) error {
				got = a
				if s == step {
					before = a.stack.Names()
					return errInjected
				}
				return nil
			})
			if !errors.Is(err, errInjected) {
				t.Fatalf("start failing at %s = %v", step, err)
			}
			if left := got.stack.Names(); len(left) > 0 {
				t.Fatalf("after failing at %s, still open: %v", step, left)
			}
			if slices.Contains(before, "store") {
				if err := got.store.Ping(ctx); err == nil {
					t.Fatalf("failing at %s left the store open", step)
				}
			}
			if step != "store" && !slices.Contains(before, "store") {
				t.Fatalf("the store was not open before %s: %v", step, before)
			}
			if i := slices.Index(steps, step); i > slices.Index(steps, "knowledge") && !slices.Contains(before, "knowledge") {
				t.Fatalf("the knowledge store was not open before %s: %v", step, before)
			}
		})
	}
}

// Without a cluster, serve starts the store, the knowledge store and HTTP only.
func TestFailedStartClosesEverythingNoCluster(t *testing.T) {
	cfg := config.Default()
	cfg.Cluster.Mode = config.ClusterNone
	cfg.Store.DSN = "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	failEachStep(t, cfg, []string{"store", "knowledge", "cluster", "http"})
}

// On the sandbox, with the alert pipeline on and (where the suite has it) Milvus as the
// knowledge store, every step of serve's start fails in turn.
func TestFailedStartClosesEverything(t *testing.T) {
	cfg := sandboxConfig(t, sandboxtest.Start(t))
	cfg.Alerts.Enabled, cfg.Alerts.BearerToken = true, "lifecycle-test-token"
	if addr := os.Getenv("K8SM_TEST_MILVUS_ADDR"); addr != "" {
		cfg.Knowledge.Store = "milvus"
		cfg.Knowledge.Milvus.Address = addr
		cfg.Knowledge.Milvus.Collection = "k8sm_lifecycle"
	}
	failEachStep(t, cfg, []string{"store", "knowledge", "cluster", "cluster roles", "http", "platform", "tools", "agent", "web", "surfaces", "loops"})
}

// sandboxConfig is the default configuration on the shared sandbox, with a fresh store and
// key file (knowledgeEnv).
func sandboxConfig(t *testing.T, env *sandboxtest.Env) config.Config {
	t.Helper()
	knowledgeEnv(t)
	cfg, err := config.Load(config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cluster.Mode, cfg.Cluster.Kubeconfig = config.ClusterKubeconfig, env.Sandbox.KubeconfigPath()
	return cfg
}

// testApp builds the app from cfg and closes it when the test ends.
func testApp(t *testing.T, cfg config.Config) *app {
	t.Helper()
	a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
