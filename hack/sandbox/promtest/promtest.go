// Package promtest runs a real Prometheus (built by hack/sandbox/build.sh from its module) for
// a test: it scrapes every fake node of the sandbox the way a cluster's Prometheus scrapes
// kubelets (kwok's resource and cAdvisor-like endpoints), plus whatever targets the test adds
// (the service's /metrics, an app), every second. It stops when the test ends.
package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/hack/sandbox/sandboxtest"
)

// Target is one more thing to scrape.
type Target struct {
	Job  string
	Addr string // host:port
	Path string // default /metrics
	// Labels are added to every series scraped from it (for an app outside the cluster: the
	// namespace and pod a cluster's pod relabeling would give it).
	Labels map[string]string
}

// Server is a running Prometheus.
type Server struct {
	// URL is its HTTP API (http://127.0.0.1:port).
	URL string
}

// client talks to the processes started here with its own transport (never http.DefaultClient,
// which a test may wrap to check its own API's contract).
var client = &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}

// ScrapeInterval is how often every target is scraped.
const ScrapeInterval = time.Second

// Start runs Prometheus against the sandbox's nodes and the extra targets, and waits until it
// is ready. The test fails when the binary is missing or Prometheus does not start.
func Start(t testing.TB, env *sandboxtest.Env, extra ...Target) *Server {
	t.Helper()
	bin := filepath.Join(env.BinDir, "prometheus")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("prometheus binary: %v (make sandbox-bins builds it)", err)
	}
	ctx := context.Background()
	nodes, err := env.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\nscrape_configs:\n",
		ScrapeInterval, ScrapeInterval, ScrapeInterval)
	// Each fake node as a kubelet: kwok serves every node's endpoints on one port, under a path
	// per node (the kwok server answers plain HTTP and TLS on the same port).
	for _, path := range []string{"resource", "cadvisor"} {
		fmt.Fprintf(&cfg, "- job_name: kubelet-%s\n  honor_labels: true\n  static_configs:\n", path)
		for _, n := range nodes.Items {
			ip := "" // the address a kubelet is scraped at: InternalIP, else the hostname (kwok's "localhost")
			for _, a := range n.Status.Addresses {
				if a.Type == "InternalIP" || a.Type == "Hostname" && ip == "" {
					ip = a.Address
				}
			}
			port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
			if ip == "" || port == 0 {
				continue
			}
			fmt.Fprintf(&cfg, "  - targets: [%q]\n    labels: {node: %q, __metrics_path__: %q}\n",
				net.JoinHostPort(ip, strconv.Itoa(int(port))), n.Name, "/metrics/nodes/"+n.Name+"/metrics/"+path)
		}
	}
	for _, tg := range extra {
		path := tg.Path
		if path == "" {
			path = "/metrics"
		}
		fmt.Fprintf(&cfg, "- job_name: %q\n  metrics_path: %q\n  static_configs:\n  - targets: [%q]\n", tg.Job, path, tg.Addr)
		if len(tg.Labels) > 0 {
			cfg.WriteString("    labels:\n")
			for k, v := range tg.Labels {
				fmt.Fprintf(&cfg, "      %s: %q\n", k, v)
			}
		}
	}
	dir := t.TempDir()
	// kube-state-metrics, as in a cluster: each container's restart count from its status.
	ksm := startKSM(t, env, dir)
	fmt.Fprintf(&cfg, "- job_name: kube-state-metrics\n  honor_labels: true\n  static_configs:\n  - targets: [%q]\n", ksm)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	start(t, filepath.Join(dir, "prometheus.log"), "http://"+addr+"/-/ready", bin, "--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	return &Server{URL: "http://" + addr}
}

// startKSM runs kube-state-metrics against the sandbox (pods only) and returns its address.
func startKSM(t testing.TB, env *sandboxtest.Env, dir string) string {
	t.Helper()
	addr, tele := freeAddr(t), freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	_, tport, _ := net.SplitHostPort(tele)
	start(t, filepath.Join(dir, "kube-state-metrics.log"), "http://"+addr+"/healthz", filepath.Join(env.BinDir, "kube-state-metrics"),
		"--kubeconfig="+env.Sandbox.KubeconfigPath(), "--host="+host, "--port="+port, "--telemetry-host="+host, "--telemetry-port="+tport,
		"--resources=pods")
	return addr
}

// start runs a binary with its output in logPath until the test ends (interrupt, then kill after
// 10 s), and waits up to a minute for health to answer 200; the test fails, with the log, when it
// exits first.
func start(t testing.TB, logPath, health, bin string, args ...string) {
	t.Helper()
	name := filepath.Base(bin)
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := client.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			log, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited: %v\n%s", name, err, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not answer 200 within 60s", name, health)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Instant evaluates an expression now and returns each series' labels and value.
func (s *Server) Instant(ctx context.Context, query string) ([]Sample, error) {
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := s.Get(ctx, "/api/v1/query", url.Values{"query": {query}}, &out); err != nil {
		return nil, err
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", query, out.Error)
	}
	res := make([]Sample, 0, len(out.Data.Result))
	for _, r := range out.Data.Result {
		str, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v", query, r.Value[1])
		}
		res = append(res, Sample{Labels: r.Metric, Value: v})
	}
	return res, nil
}

// Sample is one series of an instant query.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// WaitFor polls an expression until ok accepts its samples or the timeout passes; it returns
// the last samples seen.
func (s *Server) WaitFor(t testing.TB, query string, timeout time.Duration, ok func([]Sample) bool) []Sample {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []Sample
	var lastErr error
	for time.Now().Before(deadline) {
		last, lastErr = s.Instant(context.Background(), query)
		if lastErr == nil && ok(last) {
			return last
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("prometheus: %s did not reach the expected value within %s: last %v (err %v)", query, timeout, last, lastErr)
	return nil
}

// Get calls an API path (/api/v1/query, /api/v1/label/__name__/values, /api/v1/parse_query, ...)
// and decodes its JSON answer.
func (s *Server) Get(ctx context.Context, path string, q url.Values, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(into)
}
