package agent_test

import (
	"testing"
	"unicode/utf8"

	"k8s-manage/agent"
)

func TestParseDecision(t *testing.T) {
	for _, c := range []struct {
		in      string
		id      string
		approve bool
		reason  string
		ok      bool
	}{
		{"approve 1a2b3c4d", "1a2b3c4d", true, "", true},
		{"  同意 1a2b3c4d", "1a2b3c4d", true, "", true},
		{"拒绝 1a2b3c4d 高峰期不要扩容", "1a2b3c4d", false, "高峰期不要扩容", true},
		{"/k8s reject 1A2B3C4D too risky", "1a2b3c4d", false, "too risky", true},
		{"please approve 1a2b3c4d", "", false, "", false},
		{"approve", "", false, "", false},
		{"approve it", "", false, "", false},
		{"scale nginx to 3", "", false, "", false},
	} {
		id, approve, reason, ok := agent.ParseDecision(c.in)
		if id != c.id || approve != c.approve || reason != c.reason || ok != c.ok {
			t.Errorf("%q: got (%q, %v, %q, %v)", c.in, id, approve, reason, ok)
		}
	}
}

func FuzzParseDecision(f *testing.F) {
	for _, s := range []string{"approve 1a2b3c4d", "拒绝 1a2b3c4d 原因", "", "approve \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, _, reason, ok := agent.ParseDecision(s)
		if ok && (len(id) < 6 || !utf8.ValidString(reason) && utf8.ValidString(s)) {
			t.Fatalf("%q: id %q reason %q", s, id, reason)
		}
	})
}

func TestPreviewText(t *testing.T) {
	p := `{"summary":"s","objects":[{"kind":"Deployment","name":"a/nginx","action":"update","diff":[{"path":"spec.replicas","from":"2","to":"3"},{"path":"x","to":"1"}]}]}`
	want := "update Deployment a/nginx\n  ~ spec.replicas: 2 -> 3\n  + x: 1"
	if got := agent.PreviewText(p); got != want {
		t.Fatalf("PreviewText:\n%s\nwant\n%s", got, want)
	}
	if got := agent.PreviewText("not json"); got != "not json" {
		t.Fatal(got)
	}
}
