// Command gendocs writes the documents derived from the knowledge sources (see knowledge/corpus):
// the manual's retrieval chunks (JSONL and Markdown) and the FAQ as Markdown. Run: make docs.
package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"k8s-manage/knowledge/corpus"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	gen, err := corpus.Generated(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
	for _, path := range slices.Sorted(maps.Keys(gen)) {
		if err := os.WriteFile(filepath.Join(root, path), gen[path], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gendocs:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", path)
	}
}
