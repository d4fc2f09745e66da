// Package sandbox runs a real, local Kubernetes control plane for development, tests and evals:
// etcd, kube-apiserver (RBAC on), kube-controller-manager and kube-scheduler built from the
// official modules pinned in hack/sandbox/modules, with kwok fake nodes that run pods. Everything
// binds to 127.0.0.1. kwok Stages (stages/*.yaml) drive pod lifecycles, including injected faults
// selected by a pod annotation (see stages/faults.yaml and FaultAnnotation).
package sandbox

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

//go:embed stages/*.yaml
var stageFiles embed.FS

//go:embed crds/*.yaml
var crdFiles embed.FS

// usageConfig is the fake pods' usage and the metrics endpoints kwok serves (metrics/usage.yaml).
//
//go:embed metrics/usage.yaml
var usageConfig []byte

// stageOrder lists the kwok stages the sandbox loads (kwokctl drops its defaults once any is given).
var stageOrder = []string{
	"node-initialize.yaml", "node-heartbeat-with-lease.yaml",
	"pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml", "faults.yaml",
}

// Components are the processes of a running sandbox.
var Components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller", "metrics-server"}

// The pod annotations kwok's usage expressions read: a pod's CPU (a quantity: "250m") and memory
// ("300Mi") usage as the metrics API reports it. Without them a pod uses 1m and 1Mi. Changing
// them on a running pod changes what it reports.
const (
	UsageCPUAnnotation    = "kwok.x-k8s.io/usage-cpu"
	UsageMemoryAnnotation = "kwok.x-k8s.io/usage-memory"
	// A pod's network IO in bytes per second ("2Mi"), which kwok's cAdvisor-like endpoint
	// (/metrics/nodes/<node>/metrics/cadvisor) counts up as container_network_*_bytes_total.
	UsageNetworkReceiveAnnotation  = "kwok.x-k8s.io/usage-network-receive"
	UsageNetworkTransmitAnnotation = "kwok.x-k8s.io/usage-network-transmit"
)

// Options configures a Sandbox. Zero values take the defaults shown.
type Options struct {
	// Root is the repository root holding hack/sandbox (default: found upwards from the working directory).
	Root string
	// WorkDir holds the cluster's files: certs, kubeconfig, etcd data, logs (default <Root>/.sandbox).
	WorkDir string
	// BinDir overrides the built binaries' folder (default: hack/sandbox/build.sh's cache).
	BinDir string
	// Name of the kwok cluster (default "k8sm").
	Name string
	// Nodes is how many fake nodes to register (default 3).
	Nodes int
	// Out receives progress lines (default io.Discard).
	Out io.Writer
}

// Sandbox manages one local control plane.
type Sandbox struct {
	opts Options
}

// New applies defaults to opts.
func New(opts Options) (*Sandbox, error) {
	if opts.Root == "" {
		root, err := FindRoot()
		if err != nil {
			return nil, err
		}
		opts.Root = root
	}
	if opts.WorkDir == "" {
		opts.WorkDir = filepath.Join(opts.Root, ".sandbox")
	}
	if opts.Name == "" {
		opts.Name = "k8sm"
	}
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	abs, err := filepath.Abs(opts.WorkDir)
	if err != nil {
		return nil, err
	}
	opts.WorkDir = abs
	return &Sandbox{opts: opts}, nil
}

// FindRoot walks up from the working directory to the k8s-manage repository root.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(data, []byte("module k8s-manage\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("sandbox: not inside the k8s-manage repository (it needs hack/sandbox to build the control plane); run from the repository")
		}
		dir = parent
	}
}

func (s *Sandbox) logf(format string, args ...any) {
	fmt.Fprintf(s.opts.Out, "[sandbox %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (s *Sandbox) clusterDir() string { return filepath.Join(s.opts.WorkDir, "clusters", s.opts.Name) }

// KubeconfigPath is the admin kubeconfig, self-contained: its certificates are embedded, so
// clients read them once. (kwokctl's own kubeconfig names certificate files, and client-go runs a
// certificate-reloading goroutine per transport built from files and caches those transports by
// path, so a process that recreated the sandbox would keep the old CA.)
func (s *Sandbox) KubeconfigPath() string { return filepath.Join(s.clusterDir(), "admin.kubeconfig") }

// kwokKubeconfig is the kubeconfig kwokctl writes; it names the certificate files.
func (s *Sandbox) kwokKubeconfig() string { return filepath.Join(s.clusterDir(), "kubeconfig.yaml") }

// flatKubeconfig is kwokctl's kubeconfig with the certificate files' contents embedded.
func (s *Sandbox) flatKubeconfig() (*clientcmdapi.Config, error) {
	raw, err := clientcmd.LoadFromFile(s.kwokKubeconfig())
	if err != nil {
		return nil, fmt.Errorf("sandbox: load kubeconfig: %w", err)
	}
	if err := clientcmdapi.FlattenConfig(raw); err != nil {
		return nil, fmt.Errorf("sandbox: embed certificates: %w", err)
	}
	return raw, nil
}

// writeKubeconfig writes KubeconfigPath, replacing the file in one rename (test processes start
// in parallel).
func (s *Sandbox) writeKubeconfig() error {
	raw, err := s.flatKubeconfig()
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", s.KubeconfigPath(), os.Getpid())
	if err := clientcmd.WriteToFile(*raw, tmp); err != nil {
		return fmt.Errorf("sandbox: write kubeconfig: %w", err)
	}
	if err := os.Rename(tmp, s.KubeconfigPath()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sandbox: write kubeconfig: %w", err)
	}
	return nil
}

// LogDir holds one log file per component.
func (s *Sandbox) LogDir() string { return filepath.Join(s.clusterDir(), "logs") }

// Build builds (or finds cached) control-plane binaries and returns their folder.
func (s *Sandbox) Build(ctx context.Context) (string, error) {
	if s.opts.BinDir != "" {
		return s.opts.BinDir, nil
	}
	script := filepath.Join(s.opts.Root, "hack", "sandbox", "build.sh")
	cmd := exec.CommandContext(ctx, script)
	cmd.Dir = s.opts.Root
	cmd.Stderr = s.opts.Out
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("sandbox: build control-plane binaries: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	s.opts.BinDir = lines[len(lines)-1]
	return s.opts.BinDir, nil
}

// RESTConfig returns the admin client configuration of a running sandbox.
func (s *Sandbox) RESTConfig() (*rest.Config, error) {
	// From kwokctl's file, not KubeconfigPath: healthy asks before Up has written that one.
	raw, err := s.flatKubeconfig()
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("sandbox: load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg, nil
}

// healthy says whether every component of an existing sandbox runs and its API server answers
// /readyz (an API server without its controller manager is no cluster).
func (s *Sandbox) healthy(ctx context.Context) bool {
	if _, err := os.Stat(s.kwokKubeconfig()); err != nil {
		return false
	}
	for _, c := range Components {
		if _, running := s.pid(c); !running {
			return false
		}
	}
	cfg, err := s.RESTConfig()
	if err != nil {
		return false
	}
	cfg.Timeout = 3 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return false
	}
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err == nil && string(body) == "ok"
}

// Info describes a running sandbox.
type Info struct {
	Kubeconfig string
	BinDir     string
	// Reused is true when a healthy sandbox was already running.
	Reused  bool
	Elapsed time.Duration
}

// Up starts the sandbox, or reuses a healthy one: control plane on loopback, fake nodes, and a
// smoke Deployment whose pods must be Running before Up returns. It is idempotent.
func (s *Sandbox) Up(ctx context.Context) (*Info, error) {
	start := time.Now()
	bin, err := s.Build(ctx)
	if err != nil {
		return nil, err
	}
	info := &Info{Kubeconfig: s.KubeconfigPath(), BinDir: bin}
	if s.healthy(ctx) {
		s.logf("reusing the running sandbox (%s)", s.KubeconfigPath())
		info.Reused = true
	} else {
		if _, err := os.Stat(s.clusterDir()); err == nil {
			s.logf("removing a stopped or broken sandbox")
			if err := s.Down(ctx); err != nil {
				return nil, err
			}
		}
		if err := s.create(ctx, bin); err != nil {
			return nil, err
		}
	}
	if err := s.writeKubeconfig(); err != nil {
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	info.Elapsed = time.Since(start)
	s.logf("ready in %s; kubeconfig %s", info.Elapsed.Round(time.Millisecond), info.Kubeconfig)
	return info, nil
}

func (s *Sandbox) create(ctx context.Context, bin string) error {
	if err := os.MkdirAll(s.opts.WorkDir, 0o755); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	cfgPath := filepath.Join(s.opts.WorkDir, "kwokctl.yaml")
	cfg, err := kwokctlConfig(bin)
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return fmt.Errorf("sandbox: write kwokctl config: %w", err)
	}
	s.logf("starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok-controller on 127.0.0.1")
	if err := s.kwokctl(ctx, bin, "--config", cfgPath, "create", "cluster", "--name", s.opts.Name,
		"--kubeconfig", "", "--wait", "3m"); err != nil {
		return fmt.Errorf("sandbox: create cluster: %w (component logs in %s)", err, s.LogDir())
	}
	return nil
}

// kwokctl runs kwokctl against the sandbox's work folder, its output kept in kwokctl.log.
func (s *Sandbox) kwokctl(ctx context.Context, bin string, args ...string) error {
	logf, err := os.OpenFile(filepath.Join(s.opts.WorkDir, "kwokctl.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "kwokctl"), args...)
	cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+s.opts.WorkDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kwokctl %s: %w (see %s)", strings.Join(args, " "), err, logf.Name())
	}
	return nil
}

func kwokctlConfig(bin string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeApiserverBinary: %[1]s/kube-apiserver
  kubeControllerManagerBinary: %[1]s/kube-controller-manager
  kubeSchedulerBinary: %[1]s/kube-scheduler
  kubectlBinary: %[1]s/kubectl
  etcdBinary: %[1]s/etcd
  kwokControllerBinary: %[1]s/kwok
  kubeAuthorization: true
  enableCRDs: [Logs, ClusterLogs, Exec, ClusterExec]
  disableQPSLimits: true
  # metrics.k8s.io: metrics-server scrapes the kubelet resource metrics kwok serves per node, from
  # the usage its ClusterResourceUsage expressions give each pod (see UsageCPUAnnotation).
  enableMetricsServer: true
  metricsServerBinary: %[1]s/metrics-server
  metricsServerManifests: [%[1]s/metrics-server-manifests]
# One instance each: no leader election. Under load (2 cores running the whole suite) a lease
# renewal that times out makes a leader-elected component exit, and the sandbox silently loses its
# controllers.
componentsPatches:
- name: kube-controller-manager
  extraArgs:
  - {key: leader-elect, value: "false"}
  # HPAs act within seconds, so a test sees one scale up and back down.
  - {key: horizontal-pod-autoscaler-sync-period, value: "2s"}
  - {key: horizontal-pod-autoscaler-downscale-stabilization, value: "10s"}
  - {key: horizontal-pod-autoscaler-cpu-initialization-period, value: "10s"}
  - {key: horizontal-pod-autoscaler-initial-readiness-delay, value: "5s"}
- name: metrics-server
  extraArgs:
  - {key: metric-resolution, value: "10s", override: true}
  - {key: kubelet-request-timeout, value: "5s"}
- name: kube-scheduler
  extraArgs:
  - {key: leader-elect, value: "false"}
`, bin)
	add := func(data []byte) {
		b.WriteString("---\n")
		b.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	for _, name := range stageOrder {
		data, err := stageFiles.ReadFile("stages/" + name)
		if err != nil {
			return nil, err
		}
		add(data)
	}
	add(usageConfig)
	return b.Bytes(), nil
}

// Down stops every component and removes the cluster's files. Stopping a stopped sandbox is fine.
func (s *Sandbox) Down(ctx context.Context) error {
	if _, err := os.Stat(s.clusterDir()); errors.Is(err, os.ErrNotExist) {
		s.logf("no sandbox to stop")
		return nil
	}
	bin, err := s.Build(ctx)
	if err != nil {
		return err
	}
	s.logf("stopping the sandbox")
	var pids []int
	for _, c := range Components {
		if pid, ok := s.pid(c); ok {
			pids = append(pids, pid)
		}
	}
	if err := s.kwokctl(ctx, bin, "delete", "cluster", "--name", s.opts.Name, "--kubeconfig", ""); err != nil {
		// kwokctl refuses a half-made cluster: stop what runs and remove the files ourselves.
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
		if rmErr := os.RemoveAll(s.clusterDir()); rmErr != nil {
			return errors.Join(err, rmErr)
		}
	}
	// kwokctl signals the components but does not wait, and kube-apiserver can outlive its etcd
	// indefinitely: wait a little, then kill what is left so no control plane leaks.
	s.reap(pids, 5*time.Second)
	return nil
}

// reap waits up to grace for the processes to exit, then SIGKILLs the ones still running and waits
// for them to go. It only touches processes whose command line still points into this sandbox
// (pids can be reused; a zombie's command line is empty).
func (s *Sandbox) reap(pids []int, grace time.Duration) {
	left := func() []int {
		var out []int
		for _, pid := range pids {
			cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err == nil && bytes.Contains(cmd, []byte(s.clusterDir())) {
				out = append(out, pid)
			}
		}
		return out
	}
	wait := func(d time.Duration) []int {
		deadline := time.Now().Add(d)
		for {
			l := left()
			if len(l) == 0 || time.Now().After(deadline) {
				return l
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	stuck := wait(grace)
	for _, pid := range stuck {
		s.logf("component pid %d did not stop; killing it", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if len(stuck) > 0 {
		wait(2 * time.Second)
	}
}

func (s *Sandbox) pid(component string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(s.clusterDir(), "pids", component+".pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, syscall.Kill(pid, 0) == nil
}

// ComponentStatus is one process of the sandbox.
type ComponentStatus struct {
	Name    string
	PID     int
	Running bool
	Log     string
}

// Status describes the sandbox as it is now.
type Status struct {
	Exists     bool
	Ready      bool // the API server answers /readyz
	Kubeconfig string
	Kubectl    string
	Components []ComponentStatus
	Nodes      []NodeStatus
}

// NodeStatus is one fake node.
type NodeStatus struct {
	Name  string
	Ready bool
}

// Status reports each component, the nodes and where the kubeconfig and kubectl are.
func (s *Sandbox) Status(ctx context.Context) (*Status, error) {
	st := &Status{Kubeconfig: s.KubeconfigPath()}
	if s.opts.BinDir != "" {
		st.Kubectl = filepath.Join(s.opts.BinDir, "kubectl")
	}
	if _, err := os.Stat(s.clusterDir()); err != nil {
		return st, nil
	}
	st.Exists = true
	for _, c := range Components {
		pid, running := s.pid(c)
		st.Components = append(st.Components, ComponentStatus{Name: c, PID: pid, Running: running,
			Log: filepath.Join(s.LogDir(), c+".log")})
	}
	st.Ready = s.healthy(ctx)
	if st.Ready {
		nodes, err := s.nodeStatus(ctx)
		if err != nil {
			return st, err
		}
		st.Nodes = nodes
	}
	return st, nil
}
