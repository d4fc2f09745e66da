package rest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/adapters/rest"
	"k8s-manage/agent/builtin"
	"k8s-manage/internal/toolname"
	"k8s-manage/tools"
)

// Every tool of the catalog has what a tool needs to be reached and answered: words people call
// it by, examples the builtin model reads as that tool (or, for a tool only a hosted model fills
// in, binds), a readable answer, and a REST route or an explicit chat-only mark, never both.
func TestEveryToolHasWordsAnAnswerAndARoute(t *testing.T) {
	reg := tools.NewRegistry(tools.Deps{}) // the specs only: no platform behind them
	var specs []tools.Spec
	var infos []*schema.ToolInfo
	for _, tl := range reg.Tools() {
		specs = append(specs, tl.Spec())
		info, err := tl.Info()
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, info)
	}
	routed := map[string]bool{}
	for _, r := range rest.ToolRoutes() {
		if _, ok := reg.Get(r.Tool); !ok {
			t.Errorf("route %s %s names %q, which is no tool", r.Method, r.Path, r.Tool)
		}
		routed[r.Tool] = true
	}
	world := builtin.World{Tenant: "team-a", Env: "dev", Role: "admin", Envs: []string{"dev", "test"}, Catalog: builtin.NewCatalog(specs),
		Apps: []builtin.App{{Name: "nginx", Image: "nginx:1.27", Replicas: 2}, {Name: "web-api", Image: "registry.local/web-api:1.4.1", Replicas: 2},
			{Name: "order-service", Image: "registry.local/order-service:2.3.0", Replicas: 2}, {Name: "payment", Image: "registry.local/payment:3.1.2", Replicas: 2},
			{Name: "checkout", Image: "registry.local/checkout:2.0", Replicas: 2}, {Name: "search-api", Image: "registry.local/search-api:0.8.4", Replicas: 2}}}
	model, err := builtin.New().WithTools(infos)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		if len(sp.Intents) == 0 {
			t.Errorf("%s: no intents: what do people call it?", sp.Name)
		}
		if !builtin.Answers(sp) {
			t.Errorf("%s: the builtin model has no answer for its results", sp.Name)
		}
		switch {
		case sp.ChatOnly && routed[sp.Name]:
			t.Errorf("%s: marked chat-only, but has a REST route", sp.Name)
		case !sp.ChatOnly && !routed[sp.Name]:
			t.Errorf("%s: no REST route, and not marked chat-only", sp.Name)
		}
		if len(sp.Examples) == 0 {
			t.Errorf("%s: no examples", sp.Name)
		}
		bindOnly := !slices.ContainsFunc(sp.Intents, func(in tools.Intent) bool { return !in.BindOnly })
		for _, ex := range sp.Examples {
			if bindOnly {
				if !slices.Contains(builtin.Candidates(ex, world), sp.Name) {
					t.Errorf("%s: example %q does not bind it (candidates %v)", sp.Name, ex, builtin.Candidates(ex, world))
				}
				continue
			}
			msgs := []*schema.Message{schema.UserMessage(ex)}
			msg, err := model.Generate(context.Background(), msgs, builtin.WithWorld(world))
			if err != nil {
				t.Fatal(err)
			}
			if len(msg.ToolCalls) == 1 && msg.ToolCalls[0].Function.Name == toolname.GetAppConfig && sp.Name != toolname.GetAppConfig {
				// A change of the whole configuration reads it first, then proposes the change.
				msgs = append(msgs, msg, schema.ToolMessage(`{"name":"checkout","image":"registry.local/checkout:2.0","replicas":2,"version":"7"}`,
					msg.ToolCalls[0].ID, schema.WithToolName(toolname.GetAppConfig)))
				if msg, err = model.Generate(context.Background(), msgs, builtin.WithWorld(world)); err != nil {
					t.Fatal(err)
				}
			}
			if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != sp.Name {
				t.Errorf("%s: example %q read as %v %q", sp.Name, ex, msg.ToolCalls, msg.Content)
			}
		}
	}
}
