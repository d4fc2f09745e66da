package rest

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
)

// Every route ToolRoutes names is mounted: the list cannot claim a route the API does not serve.
func TestToolRoutesAreMounted(t *testing.T) {
	r := chi.NewRouter()
	New(Options{Auth: func(h http.Handler) http.Handler { return h }}).Mount(r)
	mounted := map[string]bool{}
	if err := chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		mounted[method+" "+route] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tr := range ToolRoutes() {
		if !mounted[tr.Method+" "+tr.Path] {
			t.Errorf("%s: %s %s is not mounted", tr.Tool, tr.Method, tr.Path)
		}
	}
}
