package agent

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s-manage/agent/builtin"
	"k8s-manage/evals/dataset"
	"k8s-manage/tools"
)

// evalWorld is the eval tenant's dev environment (evals/fixtures/apps.yaml).
var evalWorld = builtin.World{Tenant: "team-a", Env: "dev", Envs: []string{"dev", "test"}, Today: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC),
	Apps: []builtin.App{{Name: "nginx", Image: "nginx:1.27", Replicas: 2}, {Name: "web-api", Image: "registry.local/web-api:1.4.1", Replicas: 2},
		{Name: "order-service", Image: "registry.local/order-service:2.3.0", Replicas: 2}, {Name: "payment", Image: "registry.local/payment:3.1.2", Replicas: 2},
		{Name: "checkout", Image: "registry.local/checkout:2.0", Replicas: 2}, {Name: "user-center", Image: "registry.local/user-center:1.9.0", Replicas: 2},
		{Name: "search-api", Image: "registry.local/search-api:0.8.4", Replicas: 2}},
	Catalog: func() *builtin.Catalog { // the real catalog's words (no platform behind it)
		var specs []tools.Spec
		for _, t := range tools.NewRegistry(tools.Deps{}).Tools() {
			specs = append(specs, t.Spec())
		}
		return builtin.NewCatalog(specs)
	}()}

// The schemas a hosted model's first step carries include the tool each team-chat case needs
// (evals/teamchat, the dev half; K8SM_TEST_TEAMCHAT_HALF=test for the held-out half, once): the
// needed tool bound on the first step ≥ 0.97. A follow-up's earlier tool is carried because it
// was used in the conversation.
func TestNeededToolIsBoundOnTheFirstStep(t *testing.T) {
	half := cmp.Or(os.Getenv("K8SM_TEST_TEAMCHAT_HALF"), "dev")
	cases, err := dataset.Load(filepath.Join("..", "evals", "teamchat", half+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	bound, needed := 0, 0
	var missed []string
	var carried []int
	for _, c := range cases {
		if len(c.Expect.ToolCalls) == 0 {
			continue
		}
		var used []string
		for _, p := range c.Prior { // the tool the earlier turn called is in the conversation
			if cs := builtin.Candidates(p.Input, evalWorld); len(cs) > 0 {
				used = append(used, cs[0])
			}
		}
		carry := wanted(c.Input, used, evalWorld)
		carried = append(carried, len(carry))
		for _, want := range c.Expect.ToolCalls {
			needed++
			if carry[want.Name] {
				bound++
			} else {
				missed = append(missed, fmt.Sprintf("%s %q needs %s", c.ID, c.Input, want.Name))
			}
		}
	}
	slices.Sort(carried)
	rate := float64(bound) / float64(needed)
	t.Logf("%s half: the needed tool bound on the first step %d/%d = %.3f; schemas carried per step: median %d, max %d of %d",
		half, bound, needed, rate, carried[len(carried)/2], carried[len(carried)-1], len(tools.NewRegistry(tools.Deps{}).Tools()))
	for _, m := range missed {
		t.Log("not bound: " + m)
	}
	if rate < 0.97 {
		t.Errorf("needed tool bound on the first step: %.3f, want >= 0.97", rate)
	}
}
