package text

import (
	"slices"
	"testing"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string // must all be present
		not  []string
	}{
		{"Pod 一直 CrashLoopBackOff", []string{"pod", "crashloopbackoff", "crash", "loop", "back", "off", "一直"}, []string{"的"}},
		{"容器被OOMKilled了", []string{"容器", "器被", "oomkill", "oom", "kill"}, nil},
		{"Scaling deployments", []string{"scal", "deployment"}, nil},
		{"ＨＰＡ　不扩容", []string{"hpa", "扩容", "不扩"}, nil},
		{"exit code 137", []string{"exit", "code", "137"}, nil},
	}
	for _, tc := range tests {
		got := Tokens(tc.in)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("Tokens(%q) = %v, lacks %q", tc.in, got, w)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(got, w) {
				t.Errorf("Tokens(%q) has stop token %q", tc.in, w)
			}
		}
	}
}

func FuzzTokens(f *testing.F) {
	f.Add("Pod 一直 CrashLoopBackOff 137")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range Tokens(s) {
			if tok == "" {
				t.Fatal("empty token")
			}
		}
	})
}
