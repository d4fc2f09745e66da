package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	arkembed "github.com/cloudwego/eino-ext/components/embedding/ark"
	ollamaembed "github.com/cloudwego/eino-ext/components/embedding/ollama"
	openaiembed "github.com/cloudwego/eino-ext/components/embedding/openai"
	"github.com/cloudwego/eino/components/embedding"
	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/schema"
	"github.com/spf13/cobra"

	"k8s-manage/internal/config"
	"k8s-manage/internal/store"
	"k8s-manage/knowledge"
	"k8s-manage/knowledge/corpus"
	"k8s-manage/knowledge/embedded"
	"k8s-manage/knowledge/hashembed"
	"k8s-manage/knowledge/ingest"
	"k8s-manage/knowledge/milvus"
	"k8s-manage/knowledge/retrieve"
	"k8s-manage/knowledge/split"
)

// vectorStore is what the knowledge commands need of a store.
type vectorStore interface {
	ingest.Target
	retrieve.Source
}

// knowledgeParts are the knowledge components built from configuration.
type knowledgeParts struct {
	emb         embedding.Embedder
	fingerprint string
	store       vectorStore
	meta        knowledge.Meta
	close       func()
}

// buildEmbedder picks the embedder. The built-in one loads its persisted IDF table; with fit
// set (first ingest, or --rebuild) it is fitted on corpus and saved.
func buildEmbedder(ctx context.Context, k config.Knowledge, meta knowledge.Meta, corpus []knowledge.Chunk, fit bool) (embedding.Embedder, string, error) {
	timeout := k.Timeout.D()
	switch k.Embedder {
	case "builtin":
		idf, err := hashembed.LoadIDF(ctx, meta)
		if err != nil {
			return nil, "", err
		}
		if (idf == nil || fit) && len(corpus) > 0 {
			texts := make([]string, len(corpus))
			for i, c := range corpus {
				texts[i] = c.Text()
			}
			idf = hashembed.Fit(texts)
			if err := hashembed.SaveIDF(ctx, meta, idf); err != nil {
				return nil, "", err
			}
		}
		e, err := hashembed.New(hashembed.Options{Dim: k.Dim, IDF: idf})
		if err != nil {
			return nil, "", fmt.Errorf("knowledge.dim: %w", err)
		}
		return e, e.Fingerprint(), nil
	case "openai":
		dim := k.Dim
		e, err := openaiembed.NewEmbedder(ctx, &openaiembed.EmbeddingConfig{BaseURL: k.BaseURL, APIKey: k.APIKey, Model: k.Model, Timeout: timeout, Dimensions: &dim})
		return e, fmt.Sprintf("openai/%s/%s/%d", k.BaseURL, k.Model, dim), wrapEmbedderErr("openai", err)
	case "ark":
		dim := k.Dim
		e, err := arkembed.NewEmbedder(ctx, &arkembed.EmbeddingConfig{BaseURL: k.BaseURL, APIKey: k.APIKey, Model: k.Model, Timeout: &timeout, Dimensions: &dim})
		return e, fmt.Sprintf("ark/%s/%s/%d", k.BaseURL, k.Model, dim), wrapEmbedderErr("ark", err)
	case "ollama":
		e, err := ollamaembed.NewEmbedder(ctx, &ollamaembed.EmbeddingConfig{BaseURL: k.BaseURL, Model: k.Model, Timeout: timeout})
		return e, fmt.Sprintf("ollama/%s/%s", k.BaseURL, k.Model), wrapEmbedderErr("ollama", err)
	default:
		return nil, "", fmt.Errorf("knowledge.embedder: unknown embedder %q", k.Embedder)
	}
}

func wrapEmbedderErr(name string, err error) error {
	if err != nil {
		return fmt.Errorf("knowledge.embedder %s: %w", name, err)
	}
	return nil
}

// openKnowledge builds the embedder and opens the vector store.
func openKnowledge(ctx context.Context, k config.Knowledge, st *store.Store, corpus []knowledge.Chunk, fit bool) (*knowledgeParts, error) {
	meta := knowledge.Meta{DB: st}
	emb, fp, err := buildEmbedder(ctx, k, meta, corpus, fit)
	if err != nil {
		return nil, err
	}
	kp := &knowledgeParts{emb: emb, fingerprint: fp, meta: meta, close: func() {}}
	switch k.Store {
	case "embedded":
		kp.store = embedded.New(st, emb)
	case "milvus":
		m, err := milvus.New(ctx, milvus.Options{Address: k.Milvus.Address, Username: k.Milvus.Username, Password: k.Milvus.Password,
			Collection: k.Milvus.Collection, Dim: k.Dim, Index: k.Milvus.Index}, emb)
		if err != nil {
			return nil, err
		}
		kp.store, kp.close = m, func() { m.Close() }
	default:
		return nil, fmt.Errorf("knowledge.store: unknown store %q", k.Store)
	}
	return kp, nil
}

func (kp *knowledgeParts) ingest(ctx context.Context, chunks []knowledge.Chunk, targetName string, scope func(string) bool, progress io.Writer) (ingest.Summary, error) {
	return ingest.Run(ctx, chunks, kp.store, ingest.Options{Scope: scope, TargetName: targetName, Fingerprint: kp.fingerprint,
		Meta: &kp.meta, Progress: progress})
}

// withKnowledge opens the service store and the knowledge parts for one command, runs fn and
// closes them.
func withKnowledge(ctx context.Context, cfg config.Config, corpus []knowledge.Chunk, fit bool, fn func(*knowledgeParts) error) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	kp, err := openKnowledge(ctx, cfg.Knowledge, st, corpus, fit)
	if err != nil {
		return err
	}
	defer kp.close()
	return fn(kp)
}

// ingestDocs indexes docs/ into the configured store (only changed chunks are embedded).
func ingestDocs(ctx context.Context, cfg config.Config, rebuild bool, out, progress io.Writer) error {
	chunks, err := corpus.Load(cfg.Knowledge.DocsRoot)
	if err != nil {
		return fmt.Errorf("load docs from knowledge.docs_root %q: %w", cfg.Knowledge.DocsRoot, err)
	}
	return withKnowledge(ctx, cfg, chunks, rebuild, func(kp *knowledgeParts) error {
		sum, err := kp.ingest(ctx, chunks, cfg.Knowledge.Store, knowledge.SourceScope(corpus.SourcePrefix), progress)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%d chunks from %s into the %s store (%s)\n%s", len(chunks), cfg.Knowledge.DocsRoot,
			cfg.Knowledge.Store, describe(kp.emb), sum.Table())
		return nil
	})
}

// runbookSource is the knowledge source of a tenant's runbook file.
func runbookSource(tenant, file string) string { return "runbook:" + tenant + "/" + file }

// runbookChunks splits a tenant's runbook (file name and Markdown) into private chunks.
func runbookChunks(tenant, file, markdown string) ([]knowledge.Chunk, error) {
	base := strings.TrimSuffix(file, filepath.Ext(file))
	return split.Markdown(markdown, split.Options{IDPrefix: "runbook/" + tenant + "/" + base + "/",
		Source: runbookSource(tenant, file), Kind: "runbook", Tenant: tenant})
}

func newIngestCmd(g *globalFlags) *cobra.Command {
	var rebuild bool
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Index the help manual and on-call FAQ into the vector store (only changed chunks)",
		Long: "Reads docs/ai/help-knowledge-base.jsonl and docs/ai/ops-faq-100.jsonl under knowledge.docs_root, embeds the\n" +
			"chunks whose content changed, deletes chunks that were removed, and prints a summary table.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			return ingestDocs(cmd.Context(), cfg, rebuild, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "refit the built-in embedder's IDF on the current docs and re-embed everything")
	cmd.AddCommand(newRunbookCmd(g))
	return cmd
}

func describe(e embedding.Embedder) string {
	if d, ok := e.(interface{ Describe() string }); ok {
		return d.Describe()
	}
	return fmt.Sprintf("%T", e)
}

func newRunbookCmd(g *globalFlags) *cobra.Command {
	var tenant string
	var remove bool
	cmd := &cobra.Command{
		Use:   "runbook --tenant TENANT FILE.md...",
		Short: "Add (or with --remove, delete) a tenant's private runbooks: visible to that tenant only",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if tenant == "" {
				return fmt.Errorf("--tenant is required: runbooks are private to one tenant")
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var chunks []knowledge.Chunk
			sources := map[string]bool{}
			for _, f := range files {
				sources[runbookSource(tenant, filepath.Base(f))] = true
				if remove {
					continue
				}
				data, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				cs, err := runbookChunks(tenant, filepath.Base(f), string(data))
				if err != nil {
					return err
				}
				chunks = append(chunks, cs...)
			}
			return withKnowledge(ctx, cfg, nil, false, func(kp *knowledgeParts) error {
				sum, err := kp.ingest(ctx, chunks, cfg.Knowledge.Store, func(s string) bool { return sources[s] }, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprint(cmd.OutOrStdout(), sum.Table())
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant that owns the runbooks")
	cmd.Flags().BoolVar(&remove, "remove", false, "delete these runbooks instead of adding them")
	return cmd
}

func newKnowledgeCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "knowledge", Short: "Query the knowledge base"}
	var tenant, mode string
	var top int
	search := &cobra.Command{
		Use:   "search QUERY",
		Short: "Retrieve the chunks that answer a question (hybrid BM25 + dense by default)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			m, ok := map[string]retrieve.Mode{"hybrid": retrieve.Hybrid, "lexical": retrieve.LexicalOnly, "dense": retrieve.DenseOnly}[mode]
			if !ok {
				return fmt.Errorf("--mode must be hybrid, lexical or dense")
			}
			ctx := cmd.Context()
			var docs []*schema.Document
			err = withKnowledge(ctx, cfg, nil, false, func(kp *knowledgeParts) error {
				r := retrieve.New(kp.store, retrieve.Options{Mode: m, DenseWeight: cfg.Knowledge.DenseWeight})
				docs, err = r.Retrieve(ctx, args[0], retriever.WithTopK(top), knowledge.WithTenant(tenant))
				return err
			})
			if err != nil {
				return err
			}
			if len(docs) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no matching chunks (has `k8s-manage ingest` run?)")
			}
			for i, d := range docs {
				c := knowledge.FromDocument(d)
				snippet := []rune(strings.ReplaceAll(c.Content, "\n", " "))
				if len(snippet) > 120 {
					snippet = append(snippet[:120], '…')
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d. [%s] %s (%.4f)\n   %s\n", i+1, c.ID, c.Title, d.Score(), string(snippet))
			}
			return nil
		},
	}
	search.Flags().StringVar(&tenant, "tenant", "", "also show this tenant's private runbooks")
	search.Flags().StringVar(&mode, "mode", "hybrid", "hybrid, lexical or dense")
	search.Flags().IntVar(&top, "top", 5, "how many chunks")
	cmd.AddCommand(search)
	return cmd
}
