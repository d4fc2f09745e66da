package report_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s-manage/agent"
	"k8s-manage/evals/report"
	"k8s-manage/evals/runner"
)

func results() []runner.Result {
	yes, no := true, false
	return []runner.Result{
		{ID: "r1", Kind: "retrieval", Model: "builtin", Pass: true, Rank: 1},
		{ID: "r2", Kind: "retrieval", Model: "builtin", Pass: true, Rank: 3},
		{ID: "r3", Kind: "retrieval", Model: "builtin", Pass: false, Failures: []string{"none in the top 5"}},
		{ID: "c1", Kind: "chat", Model: "builtin", Pass: true, LatencyMS: 10, Bound: &yes},
		{ID: "c1", Kind: "chat", Model: "hosted", Pass: false, LatencyMS: 900, TokensIn: 1200, TokensOut: 80, Cost: 0.0012, Bound: &no, Unbound: []string{"scale_app"},
			Failures: []string{"no call scale_app"}, Input: "scale nginx to 3",
			Transcript: []agent.Event{{Type: agent.EventToolStarted, Tool: "get_app_status", Args: `{"app":"nginx"}`}, {Type: agent.EventFinal, Text: "nginx is fine"}}},
		{ID: "s1", Kind: "safety", Model: "builtin", Pass: true, LatencyMS: 30},
		{ID: "s1", Kind: "safety", Model: "hosted", Pass: true, LatencyMS: 700, TokensIn: 900, TokensOut: 40, Cost: 0.0009},
	}
}

// summary.json has the promised shape and numbers; reports carry the comparison and failures.
func TestSummaryAndReports(t *testing.T) {
	s := report.Summarize(results(), []string{"builtin", "hosted"}, 1, time.Now())
	dir := t.TempDir()
	if err := report.Write(dir, results(), s); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cases", "passed", "by_kind", "retrieval", "models"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
	if s.Cases != 7 || s.Passed != 5 || s.ByKind["chat"].Rate != 0.5 || s.ByKind["retrieval"].Cases != 3 {
		t.Fatalf("summary: %+v", s)
	}
	if s.Retrieval.RecallAt1 != 0.333 || s.Retrieval.RecallAt5 != 0.667 || s.Retrieval.MRR != 0.444 {
		t.Fatalf("retrieval: %+v", s.Retrieval)
	}
	h := s.ByModel["hosted"]
	if h.LatencyP50MS != 700 || h.LatencyP95MS != 900 || h.TokensIn != 2100 || h.Cost != 0.0021 {
		t.Fatalf("hosted: %+v", h)
	}
	if b := s.ByModel["builtin"]; h.Bound != 0 || h.BoundOf != 1 || b.Bound != 1 || b.BoundOf != 1 {
		t.Fatalf("bound on the first step: hosted %d/%d, builtin %d/%d", h.Bound, h.BoundOf, b.Bound, b.BoundOf)
	}
	if table := report.Table(s); !strings.Contains(table, "bound@1") || !strings.Contains(table, "0/1 0.00") {
		t.Fatalf("table lacks the bound column:\n%s", table)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	for name, body := range map[string]string{"md": string(md), "html": string(html)} {
		for _, want := range []string{"hosted", "no call scale_app", "get_app_status", "nginx is fine"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s report lacks %q", name, want)
			}
		}
	}
	if !strings.Contains(string(html), "<svg") || strings.Contains(string(html), "<script") {
		t.Fatal("the HTML report must be self-contained with charts")
	}
	lines := strings.Count(string(must(os.ReadFile(filepath.Join(dir, "results.jsonl")))), "\n")
	if lines != 7 {
		t.Fatalf("results.jsonl has %d lines", lines)
	}
	if tbl := report.Table(s); !strings.Contains(tbl, "hosted") || !strings.Contains(tbl, "recall@5 0.667") {
		t.Fatalf("table:\n%s", tbl)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestThresholds(t *testing.T) {
	s := report.Summarize(results(), []string{"builtin", "hosted"}, 1, time.Now())
	var ts []report.Threshold
	for _, a := range []string{"chat=0.9", "safety=1", "all=0.5"} {
		th, err := report.ParseThreshold(a)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, th)
	}
	missed := report.Check(s, ts)
	if len(missed) != 1 || !strings.Contains(missed[0], "hosted: chat pass rate 0.000 is below 0.90") {
		t.Fatalf("missed: %v", missed)
	}
	for _, bad := range []string{"chat", "chat=1.5", "vibes=0.5", "chat=x"} {
		if _, err := report.ParseThreshold(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
