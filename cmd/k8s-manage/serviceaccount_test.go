package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/chattest"
	"k8s-manage/adapters/slack/slackfake"
	"k8s-manage/agent"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/hack/tools/toolstest"
	"k8s-manage/platform/platformtest"
)

// chartIdentity installs the chart's ServiceAccount and RBAC (rendered by helm, server-side
// applied) into a namespace of its own and returns a kubeconfig holding a token minted for that
// ServiceAccount through the TokenRequest API, with the account's name.
func chartIdentity(t *testing.T, env *sandboxtest.Env) (kubeconfig, sa string) {
	t.Helper()
	ctx := context.Background()
	release := sandboxtest.Name("rel")
	ns := release
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.DeleteNamespace(ns) })
	out, err := exec.Command(toolstest.Helm(t), "template", release, "../../deploy/helm/k8s-manage", "--namespace", ns,
		"--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml", "--show-only", "templates/tenant-roles.yaml").Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	bin, err := env.Sandbox.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	apply := exec.Command(filepath.Join(bin, "kubectl"), "--kubeconfig", env.Sandbox.KubeconfigPath(), "apply", "--server-side",
		"--force-conflicts", "--field-manager", "sa-test", "-f", "-")
	apply.Stdin = strings.NewReader(string(out))
	if b, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("apply the chart's RBAC: %v\n%s", err, b)
	}
	full := release + "-k8s-manage"
	t.Cleanup(func() {
		_ = env.Client.RbacV1().ClusterRoleBindings().Delete(context.Background(), full, metav1.DeleteOptions{})
		_ = env.Client.RbacV1().ClusterRoles().Delete(context.Background(), full, metav1.DeleteOptions{})
	})
	exp := int64(3600)
	tr, err := env.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, full,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest: %v", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["sandbox"] = &clientcmdapi.Cluster{Server: env.Admin.Host, CertificateAuthority: env.Admin.CAFile,
		CertificateAuthorityData: env.Admin.CAData}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "sandbox", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	kubeconfig = filepath.Join(t.TempDir(), "sa.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	return kubeconfig, "system:serviceaccount:" + ns + ":" + full
}

// canI asks the API server (kubectl auth can-i --as, as the sandbox admin) whether sa may.
func canI(t *testing.T, env *sandboxtest.Env, sa string, args ...string) bool {
	t.Helper()
	bin, err := env.Sandbox.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "kubectl"), append([]string{"--kubeconfig", env.Sandbox.KubeconfigPath(), "auth", "can-i", "--as", sa}, args...)...)
	out, _ := cmd.Output()
	switch strings.TrimSpace(string(out)) {
	case "yes":
		return true
	case "no":
		return false
	}
	t.Fatalf("kubectl auth can-i %v: %q", args, out)
	return false
}

// TestChartServiceAccountRunsTheService runs the binary as the Helm chart's ServiceAccount (a
// TokenRequest token, nothing else): it creates a tenant, scales a Deployment for a developer
// after an operator's approval, and diagnoses an Alertmanager alert into Slack, without one
// forbidden call in its logs. kubectl auth can-i then shows the same account cannot read a
// tenant's Secrets, change a Deployment or take other groups without impersonating.
func TestChartServiceAccountRunsTheService(t *testing.T) {
	env := sandboxtest.Start(t)
	ctx := context.Background()
	kubeconfig, sa := chartIdentity(t, env)
	dir := t.TempDir()
	slackFake := slackfake.New()
	t.Cleanup(slackFake.Stop)
	const bearer = "am-sa-bearer-7781"
	name := sandboxtest.Name("satenant")
	cfgPath := filepath.Join(dir, "k8s-manage.yaml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, `cluster: {mode: kubeconfig, kubeconfig: %q}
store: {dsn: "sqlite://%s"}
knowledge: {docs_root: "../.."}
config_center: {generated_key_file: %q}
billing: {interval: 1s}
slack: {enabled: true, mode: http, bot_token: xoxb-sa-bot-1, signing_secret: slack-sa-signing-2, api_url: %q}
alerts:
  enabled: true
  bearer_token: %s
  routes:
    - match: {tenant: %s}
      slack: [C_SA_ALERTS]
`, kubeconfig, filepath.Join(dir, "s.db"), filepath.Join(dir, "cc.key"), slackFake.GetAPIURL(), bearer, name), 0o600); err != nil {
		t.Fatal(err)
	}
	dev, ops := platformtest.Email("dev"), platformtest.Email("ops")
	runCmd(t, "--config", cfgPath, "ingest")
	// The tenant is created by the service account (namespace, bindings, quota, limits, policy).
	runCmd(t, "--config", cfgPath, "tenant", "create", name, "--env", "dev", "--member", "alertmanager@k8s-manage.local=viewer",
		"--member", dev+"=developer", "--member", ops+"=operator")
	ns := name + "-dev"
	t.Cleanup(func() { env.DeleteNamespace(ns) })
	devTok, _ := runCmd(t, "--config", cfgPath, "token", "create", "--user", dev)
	opsTok, _ := runCmd(t, "--config", cfgPath, "token", "create", "--user", ops)

	// Workloads made by the sandbox admin: one to scale, one crash looping for the alert.
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, chattest.CrashLoopDeployment("order-service"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	web := chattest.CrashLoopDeployment("nginx")
	web.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	web.Spec.Template.Annotations = nil // no fault: it runs
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, web, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := chattest.WaitRestarted(t, env.Client, ns, "order-service")

	_, addr, logs := serveWith(t, cfgPath)
	base := "http://" + addr
	devC, opsC := client{t, base, strings.TrimSpace(devTok)}, client{t, base, strings.TrimSpace(opsTok)}

	// Scale with approval: requested by the developer, approved by the operator, executed as the
	// developer through impersonation.
	resp, body := devC.do("POST", "/api/v1/chat", `{"message":"scale nginx to 3 replicas","tenant":"`+name+`"}`)
	req := eventOf(sse(t, body), agent.EventApprovalRequested)
	if resp.StatusCode != 200 || req == nil {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	resp, body = opsC.do("POST", "/api/v1/approvals/"+req.Approval.ID+"/decision", `{"approve":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("approve: %d %s", resp.StatusCode, body)
	}
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return *d.Spec.Replicas == 3, fmt.Sprintf("replicas %d", *d.Spec.Replicas)
	})

	// Alert diagnosis, as the alert identity (a viewer of the tenant).
	hook, _ := json.Marshal(alertmanager.Webhook{Version: "4", GroupKey: `{}:{namespace="` + ns + `"}`, Status: "firing", Receiver: "k8s-manage",
		Alerts: []alertmanager.Alert{{Status: "firing", Fingerprint: "5a5a01", StartsAt: time.Now().Add(-time.Minute),
			Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": ns, "pod": pod, "severity": "critical"}}}})
	hreq, _ := http.NewRequest(http.MethodPost, base+"/api/v1/alerts/alertmanager", strings.NewReader(string(hook)))
	hreq.Header.Set("Authorization", "Bearer "+bearer)
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := http.DefaultClient.Do(hreq)
	if err != nil || hresp.StatusCode != 200 {
		t.Fatalf("alert webhook: %v %v", err, hresp)
	}
	hresp.Body.Close()
	var posted string
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		for _, m := range slackFake.Messages() {
			if m.Channel == "C_SA_ALERTS" {
				posted = m.AllText()
				return true, ""
			}
		}
		return false, "no alert post yet"
	})
	if !strings.Contains(posted, "CrashLoopBackOff") || !strings.Contains(posted, pod) {
		t.Fatalf("the alert post does not name the cause:\n%s", posted)
	}
	// The meter (every second here) and every other background read ran without a refusal.
	platformtest.Consistently(t, 2*time.Second, func() (bool, string) { // the meter samples twice more
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(strings.ToLower(line), "forbidden") {
				return false, "the service account lacks a permission: " + line
			}
		}
		return true, ""
	})

	// The series the chart's PrometheusRule alerts on are exported.
	mresp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, series := range []string{"k8sm_approvals_pending", "k8sm_alert_queue_oldest_seconds"} {
		if !strings.Contains(string(metrics), "\n"+series+" ") {
			t.Errorf("/metrics lacks %s, which the chart's PrometheusRule uses", series)
		}
	}

	// And no more than that.
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"get", "secrets", "-n", ns}, false},
		{[]string{"list", "secrets", "--all-namespaces"}, false},
		{[]string{"patch", "deployments", "-n", ns}, false},
		{[]string{"update", "deployments/scale", "-n", ns}, false},
		{[]string{"delete", "pods", "-n", ns}, false},
		{[]string{"create", "pods/exec", "-n", ns}, false},
		{[]string{"impersonate", "groups/system:masters"}, false},
		{[]string{"impersonate", "serviceaccounts", "-n", ns}, false},
		{[]string{"escalate", "clusterroles/cluster-admin"}, false},
		{[]string{"bind", "clusterroles/cluster-admin"}, false},
		{[]string{"impersonate", "users"}, true},
		{[]string{"impersonate", "groups/k8s-manage:users"}, true},
		{[]string{"list", "nodes"}, true},
		{[]string{"create", "namespaces"}, true},
		{[]string{"bind", "clusterroles/k8sm-admin"}, true},
	} {
		if got := canI(t, env, sa, tc.args...); got != tc.want {
			t.Errorf("can-i %s as %s = %v, want %v", strings.Join(tc.args, " "), sa, got, tc.want)
		}
	}
}
