package milvus_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/knowledge/hashembed"
	"k8s-manage/knowledge/milvus"
	"k8s-manage/knowledge/vectortest"
)

// MilvusEnv names the address of the Milvus used by tests (`make test` starts milvus-lite).
const MilvusEnv = "K8SM_TEST_MILVUS_ADDR"

func address(t testing.TB) string {
	if testing.Short() {
		t.Skip("needs Milvus: runs in the full tier (make test), not under -short")
	}
	addr := os.Getenv(MilvusEnv)
	if addr == "" {
		t.Fatalf("%s is not set: the Milvus store suite needs a real Milvus. Run `make test` (it starts milvus-lite "+
			"on 127.0.0.1 with hack/ci/milvus.sh), or export %s=$(hack/ci/milvus.sh)", MilvusEnv, MilvusEnv)
	}
	return addr
}

func TestConformance(t *testing.T) {
	addr := address(t)
	texts := make([]string, len(vectortest.Chunks))
	for i, c := range vectortest.Chunks {
		texts[i] = c.Text()
	}
	emb, err := hashembed.New(hashembed.Options{IDF: hashembed.Fit(texts)})
	if err != nil {
		t.Fatal(err)
	}
	collection := strings.ReplaceAll(sandboxtest.Name("conformance"), "-", "_")
	var first *milvus.Store
	vectortest.Run(t, func(t *testing.T) vectortest.Store {
		s, err := milvus.New(context.Background(), milvus.Options{Address: addr, Collection: collection, Dim: emb.Dim()}, emb)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = s
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	if err := first.Drop(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestDimensionMismatchIsRefused(t *testing.T) {
	addr := address(t)
	ctx := context.Background()
	collection := strings.ReplaceAll(sandboxtest.Name("dims"), "-", "_")
	e64, _ := hashembed.New(hashembed.Options{Dim: 64})
	s, err := milvus.New(ctx, milvus.Options{Address: addr, Collection: collection, Dim: 64}, e64)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Drop(ctx) //nolint:errcheck
	e128, _ := hashembed.New(hashembed.Options{Dim: 128})
	if _, err := milvus.New(ctx, milvus.Options{Address: addr, Collection: collection, Dim: 128}, e128); err == nil || !strings.Contains(err.Error(), "dim 64") {
		t.Fatalf("want a dimension mismatch error, got %v", err)
	}
}
