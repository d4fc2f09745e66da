package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

// The derived documents must match their sources: run `make docs` after editing them.
func TestGeneratedDocsAreCurrent(t *testing.T) {
	gen, err := Generated(root)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range gen {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is stale or missing: run `make docs`", path)
		}
	}
}

func TestCorpusCoverage(t *testing.T) {
	chunks, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	faq, manual := 0, 0
	var all strings.Builder
	for _, c := range chunks {
		switch c.Kind {
		case "faq":
			faq++
		case "manual":
			manual++
		}
		all.WriteString(strings.ToLower(c.Text()))
	}
	if faq != 100 || manual < 30 {
		t.Fatalf("faq=%d manual=%d, want 100 FAQ entries and at least 30 manual chunks", faq, manual)
	}
	// The topics on-call people ask about must all be covered.
	for _, topic := range []string{"crashloopbackoff", "退出码", "oomkilled", "137", "imagepullbackoff", "凭证", "pending",
		"taint", "pvc", "liveness", "readiness", "endpoints", "502", "503", "504", "证书", "续期", "dns", "configmap",
		"热更新", "加密", "扩容", "hpa", "progressdeadlineexceeded", "回滚", "金丝雀", "蓝绿", "构建", "webhook",
		"exceeded quota", "limitrange", "角色", "forbidden", "克隆", "服务目录", "账单", "previous", "终端", "钉钉", "slack",
		"邮件", "审批", "notready", "diskpressure", "storageclass", "networkpolicy", "cronjob", "job", "监控", "命令"} {
		if !strings.Contains(all.String(), topic) {
			t.Errorf("no chunk covers %q", topic)
		}
	}
}
