package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cloudwego/eino/components/model"
	"github.com/spf13/cobra"

	"k8s-manage/agent/builtin"
	"k8s-manage/evals/dataset"
	"k8s-manage/evals/report"
	"k8s-manage/evals/runner"
	"k8s-manage/evals/world"
	"k8s-manage/hack/sandbox"
	"k8s-manage/internal/config"
	"k8s-manage/knowledge"
)

type evalFlags struct {
	datasets, models, kinds, minPass, ids []string
	repeat, limitPerKind                  int
	out, fixture                          string
	timeout                               time.Duration
}

func newEvalCmd(g *globalFlags) *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval --dataset FILE_OR_DIR [--model NAME ...] [--repeat N] --out DIR [--min-pass KIND=RATE ...]",
		Short: "Run eval datasets against the agent on the sandbox and report per model (exits 1 below a --min-pass threshold)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			return runEval(cmd.Context(), cfg, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.datasets, "dataset", nil, "a JSONL dataset or a folder of them and of k8s-ai-bench task folders (repeatable)")
	fl.StringArrayVar(&f.models, "model", nil, "builtin (default), default (agent.model), or a name in eval.models (repeatable)")
	fl.StringArrayVar(&f.kinds, "kind", nil, "only these kinds: retrieval, chat, diagnosis, safety (repeatable)")
	fl.StringArrayVar(&f.minPass, "min-pass", nil, "KIND=RATE (or all=RATE): exit 1 when a model's pass rate is below (repeatable)")
	fl.IntVar(&f.repeat, "repeat", 1, "run every case this many times")
	fl.IntVar(&f.limitPerKind, "limit-per-kind", 0, "run only the first N cases of each kind (a smoke run; 0: all)")
	fl.StringArrayVar(&f.ids, "id", nil, "run only cases whose id starts with this (repeatable)")
	fl.StringVar(&f.out, "out", "", "folder for results.jsonl, summary.json, report.md, report.html and the run's database")
	fl.StringVar(&f.fixture, "fixture", "", "fixture apps (default evals/fixtures/apps.yaml under knowledge.docs_root)")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Minute, "bound on one turn")
	return cmd
}

// errThresholds is returned when a --min-pass threshold was missed (after the reports are written).
var errThresholds = errors.New("eval thresholds missed")

func runEval(ctx context.Context, cfg config.Config, f evalFlags, stdout, stderr io.Writer) error {
	var ts []report.Threshold
	for _, s := range f.minPass {
		t, err := report.ParseThreshold(s)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	switch {
	case len(f.datasets) == 0:
		return errors.New("--dataset is required")
	case f.out == "":
		return errors.New("--out is required")
	case f.repeat < 1:
		return fmt.Errorf("--repeat must be at least 1, got %d", f.repeat)
	}
	for _, k := range f.kinds {
		if !slices.Contains(dataset.Kinds, k) {
			return fmt.Errorf("--kind %q: must be one of %s", k, strings.Join(dataset.Kinds, ", "))
		}
	}
	var cases []dataset.Case
	for _, d := range f.datasets {
		cs, err := dataset.Load(d)
		if err != nil {
			return fmt.Errorf("--dataset %s: %w", d, err)
		}
		cases = append(cases, cs...)
	}
	cases = dataset.Filter(cases, f.kinds)
	cases = dataset.Limit(dataset.Select(cases, f.ids), f.limitPerKind)
	if len(cases) == 0 {
		return errors.New("no cases to run (check --dataset and --kind)")
	}
	if len(f.models) == 0 {
		f.models = []string{"builtin"}
	}
	if err := os.MkdirAll(f.out, 0o750); err != nil {
		return err
	}
	// The run gets its own database (tenants, conversations, audit log) in the output folder.
	db := filepath.Join(f.out, "eval.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(db + suffix)
	}
	cfg.Store.DSN = "sqlite://" + db
	if cfg.ConfigCenter.Key == "" {
		cfg.ConfigCenter.KeyFile = filepath.Join(f.out, "config-center.key")
	}
	cfg.Slack.Enabled, cfg.DingTalk.Enabled, cfg.Alerts.Enabled = false, false, false
	if cfg.Cluster.ResolvedMode(os.Getenv("KUBERNETES_SERVICE_HOST") != "") == config.ClusterNone {
		cfg.Cluster.Mode = config.ClusterSandbox
	}
	fmt.Fprintf(stderr, "eval: %d cases × %d model(s) × %d; indexing the docs\n", len(cases), len(f.models), f.repeat)
	if err := ingestDocs(ctx, cfg, false, io.Discard, io.Discard); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.agent == nil {
		return errors.New("eval needs a cluster")
	}
	fixturePath := f.fixture
	if fixturePath == "" {
		fixturePath = filepath.Join(cfg.Knowledge.DocsRoot, "evals", "fixtures", "apps.yaml")
	}
	fixture, err := world.LoadFixture(fixturePath)
	if err != nil {
		return fmt.Errorf("--fixture: %w", err)
	}
	wo := world.Options{Kube: a.kube, Tenants: a.tenants, Fixture: fixture, Out: stderr,
		Runbook: func(ctx context.Context, tenant, name, md string) error {
			source := runbookSource(tenant, name+".md")
			var chunks []knowledge.Chunk
			if md != "" {
				cs, err := runbookChunks(tenant, name+".md", md)
				if err != nil {
					return err
				}
				chunks = cs
			}
			_, err := a.knowledge.ingest(ctx, chunks, cfg.Knowledge.Store, func(s string) bool { return s == source }, io.Discard)
			return err
		}}
	if sb, err := sandbox.New(sandbox.Options{WorkDir: cfg.Cluster.SandboxDir}); err == nil {
		if cfg.Cluster.Mode == config.ClusterSandbox || sameFile(cfg.Cluster.Kubeconfig, sb.KubeconfigPath()) {
			wo.Logs, wo.Kubeconfig = sb.SetLogs, sb.KubeconfigPath()
			if st, err := sb.Status(ctx); err == nil {
				wo.Kubectl = st.Kubectl
			}
		}
	}
	if wo.Kubeconfig == "" {
		wo.Kubeconfig = cfg.Cluster.Kubeconfig
	}
	w, err := world.New(wo)
	if err != nil {
		return err
	}
	var models []runner.Model
	for _, name := range f.models {
		m, err := evalModel(ctx, cfg, name)
		if err != nil {
			return err
		}
		p := cfg.Eval.Prices[name]
		models = append(models, runner.Model{Name: name, Chat: m, Price: runner.Price{InputPer1K: p.InputPer1K, OutputPer1K: p.OutputPer1K}})
	}
	started := time.Now()
	results, err := runner.Run(ctx, runner.Options{World: w, Store: a.store, Tools: a.tools, Roles: a.tenants, Knowledge: a.retriever,
		Models: models, Repeat: f.repeat, Timeout: f.timeout, Log: log, Progress: progressBar(stderr)}, cases)
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	s := report.Summarize(results, f.models, f.repeat, started)
	s.Currency = cfg.Eval.Currency
	if err := report.Write(f.out, results, s); err != nil {
		return err
	}
	fmt.Fprint(stdout, report.Table(s))
	fmt.Fprintf(stdout, "reports: %s\n", strings.Join([]string{filepath.Join(f.out, "report.md"), filepath.Join(f.out, "report.html"),
		filepath.Join(f.out, "summary.json"), filepath.Join(f.out, "results.jsonl")}, ", "))
	if missed := report.Check(s, ts); len(missed) > 0 {
		for _, m := range missed {
			fmt.Fprintln(stderr, "threshold missed:", m)
		}
		return errThresholds
	}
	return nil
}

func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}

// evalModel resolves a --model name: builtin, default (agent.model) or eval.models.NAME.
func evalModel(ctx context.Context, cfg config.Config, name string) (model.ToolCallingChatModel, error) {
	switch name {
	case "builtin":
		return builtin.New(), nil
	case "default":
		return buildModel(ctx, cfg.Agent.Model, nil)
	}
	m, ok := cfg.Eval.Models[name]
	if !ok {
		return nil, fmt.Errorf("--model %q: not builtin, default or a name in eval.models", name)
	}
	if m.Timeout == 0 {
		m.Timeout = cfg.Agent.Model.Timeout
	}
	return buildModel(ctx, m, nil)
}

// progressBar draws "[#####.....] 42/230 chat-017 ok" on one line.
func progressBar(w io.Writer) func(done, total int, r runner.Result) {
	return func(done, total int, r runner.Result) {
		width := 30
		fill := done * width / max(1, total)
		status := "ok"
		if !r.Pass {
			status = "FAIL"
		}
		fmt.Fprintf(w, "\r[%s%s] %d/%d %-40s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, total,
			fmt.Sprintf("%s %s (%s)", r.ID, status, r.Model))
	}
}
