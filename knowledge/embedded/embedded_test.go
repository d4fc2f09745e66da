package embedded_test

import (
	"context"
	"testing"

	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
	"k8s-manage/knowledge/embedded"
	"k8s-manage/knowledge/hashembed"
	"k8s-manage/knowledge/vectortest"
)

func TestConformance(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			dsn := storetest.DSN(t, engine)
			texts := make([]string, len(vectortest.Chunks))
			for i, c := range vectortest.Chunks {
				texts[i] = c.Text()
			}
			emb, err := hashembed.New(hashembed.Options{IDF: hashembed.Fit(texts)})
			if err != nil {
				t.Fatal(err)
			}
			vectortest.Run(t, func(t *testing.T) vectortest.Store {
				db, err := store.Open(context.Background(), store.Options{DSN: dsn})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return embedded.New(db, emb)
			})
		})
	}
}
