package usage

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
)

func pod(name, app string, phase corev1.PodPhase, containers ...corev1.ResourceRequirements) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{apps.LabelApp: app}},
		Status: corev1.PodStatus{Phase: phase}}
	for i, r := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: string(rune('a' + i)), Resources: r})
	}
	return p
}

func res(cpuReq, memReq, cpuLim, memLim string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	set := func(l corev1.ResourceList, name corev1.ResourceName, v string) {
		if v != "" {
			l[name] = resource.MustParse(v)
		}
	}
	set(r.Requests, corev1.ResourceCPU, cpuReq)
	set(r.Requests, corev1.ResourceMemory, memReq)
	set(r.Limits, corev1.ResourceCPU, cpuLim)
	set(r.Limits, corev1.ResourceMemory, memLim)
	return r
}

func TestSummarize(t *testing.T) {
	const mi = 1 << 20
	pods := []corev1.Pod{
		pod("web-1", "web", corev1.PodRunning, res("100m", "128Mi", "200m", "256Mi")),
		pod("web-2", "web", corev1.PodRunning, res("100m", "128Mi", "200m", "256Mi")),
		// Two containers, one without limits: the pod has no CPU or memory ceiling.
		pod("api-1", "api", corev1.PodRunning, res("500m", "1Gi", "1", "2Gi"), res("100m", "64Mi", "", "")),
		pod("job-1", "job", corev1.PodSucceeded, res("1", "1Gi", "", "")),
		pod("web-3", "web", corev1.PodPending, res("100m", "128Mi", "200m", "256Mi")),
	}
	used := map[string]Amount{
		"web-1": {CPUMilli: 190, MemoryBytes: 100 * mi},
		"web-2": {CPUMilli: 10, MemoryBytes: 60 * mi},
		"api-1": {CPUMilli: 60, MemoryBytes: 900 * mi},
		"job-1": {CPUMilli: 999, MemoryBytes: 999 * mi},
	}
	tests := []struct {
		sort     string
		wantApps []string
		wantPods []string
	}{
		{"cpu", []string{"web", "api"}, []string{"web-1", "api-1", "web-2", "web-3"}},
		{"memory", []string{"api", "web"}, []string{"api-1", "web-1", "web-2", "web-3"}},
	}
	for _, tc := range tests {
		t.Run(tc.sort, func(t *testing.T) {
			appLines, podLines, total := Summarize(pods, used, tc.sort)
			var gotApps, gotPods []string
			for _, l := range appLines {
				gotApps = append(gotApps, l.Name)
			}
			for _, l := range podLines {
				gotPods = append(gotPods, l.Name)
			}
			if !equal(gotApps, tc.wantApps) || !equal(gotPods, tc.wantPods) {
				t.Fatalf("order: apps %v pods %v, want %v %v", gotApps, gotPods, tc.wantApps, tc.wantPods)
			}
			web := find(appLines, "web")
			if web.Pods != 3 || web.Measured != 2 || web.Usage.CPUMilli != 200 || web.Requests.CPUMilli != 300 ||
				web.Limits.CPUMilli != 600 || web.CPUOfRequest != 67 || web.CPUOfLimit != 33 {
				t.Fatalf("web line: %+v", web)
			}
			api := find(appLines, "api")
			if api.Limits.CPUMilli != 0 || api.Limits.MemoryBytes != 0 || api.CPUOfLimit != 0 ||
				api.Requests.CPUMilli != 600 || api.MemoryOfRequest != 83 {
				t.Fatalf("api line (a container without limits): %+v", api)
			}
			if total.Pods != 4 || total.Usage.CPUMilli != 260 || total.Limits.CPUMilli != 0 || total.Requests.CPUMilli != 900 {
				t.Fatalf("total (the finished job left out): %+v", total)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{CPU(250), "250m"}, {CPU(2000), "2"}, {CPU(0), "0"},
		{Memory(512 << 20), "512Mi"}, {Memory(3 << 29), "1.5Gi"}, {Memory(4 << 30), "4Gi"},
		{Memory(2048), "2Ki"}, {Memory(25<<30 + 1), "25Gi"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func find(lines []Line, name string) Line {
	for _, l := range lines {
		if l.Name == name {
			return l
		}
	}
	return Line{}
}

// BenchmarkTopSummarize1000Pods: top's own work for an environment of 1,000 pods in 50 apps (the
// two list calls it makes are the API server's).
func BenchmarkTopSummarize1000Pods(b *testing.B) {
	var pods []corev1.Pod
	used := map[string]Amount{}
	for i := range 1000 {
		name := fmt.Sprintf("app%d-%d", i%50, i)
		pods = append(pods, pod(name, fmt.Sprintf("app%d", i%50), corev1.PodRunning, res("250m", "256Mi", "500m", "512Mi")))
		used[name] = Amount{CPUMilli: int64(i % 400), MemoryBytes: int64(i%300) << 20}
	}
	b.ReportAllocs()
	for b.Loop() {
		apps, _, total := Summarize(pods, used, "memory")
		if len(apps) != 50 || total.Pods != 1000 {
			b.Fatal(len(apps), total.Pods)
		}
	}
}
