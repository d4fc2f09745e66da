package agent

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/agent/builtin"
)

// FindTools is the discovery tool a hosted model calls for a task whose tools this step does
// not carry: it answers the matching tools of the caller, and their schemas are bound from the
// next step on (discovering), so no tool is out of reach.
const FindTools = "find_tools"

var findToolsInfo = &schema.ToolInfo{Name: FindTools,
	Desc: "Find tools for a task you have no tool for; their schemas come with your next step.",
	ParamsOneOf: schema.NewParamsOneOfByParams(map[string]*schema.ParameterInfo{
		"task": {Type: schema.String, Desc: "the task, in a few words", Required: true},
	})}

// findTools answers which of the caller's tools fit a task: the tools the intents read in it,
// and those whose name or description shares a word with it.
type findTools struct {
	infos []*schema.ToolInfo
	world builtin.World
}

func (f *findTools) Info(context.Context) (*schema.ToolInfo, error) { return findToolsInfo, nil }

func (f *findTools) InvokableRun(_ context.Context, args string, _ ...tool.Option) (string, error) {
	var in struct {
		Task string `json:"task"`
	}
	if json.Unmarshal([]byte(args), &in) != nil || strings.TrimSpace(in.Task) == "" {
		return `{"error":"task: is required"}`, nil
	}
	want := builtin.Candidates(in.Task, f.world)
	words := strings.Fields(strings.ToLower(in.Task))
	type found struct {
		Name string `json:"name"`
		Desc string `json:"description"`
	}
	var out []found
	for _, info := range f.infos {
		hit := slices.Contains(want, info.Name)
		for _, w := range words {
			if len(w) > 3 && (strings.Contains(info.Name, w) || strings.Contains(strings.ToLower(info.Desc), w)) {
				hit = true
			}
		}
		if hit {
			out = append(out, found{info.Name, info.Desc})
		}
	}
	b, _ := json.Marshal(map[string]any{"tools": out})
	return string(b), nil
}

// discovered are the tools find_tools answered earlier in the turn's messages.
func discovered(msgs []*schema.Message) []string {
	var names []string
	for _, m := range msgs {
		if m.Role != schema.Tool || m.ToolName != FindTools {
			continue
		}
		var res struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		}
		if json.Unmarshal([]byte(m.Content), &res) == nil {
			for _, t := range res.Tools {
				names = append(names, t.Name)
			}
		}
	}
	return names
}

// discovering binds, at each step, the carried schemas and those find_tools answered before it.
type discovering struct {
	base    model.ToolCallingChatModel
	bound   model.ToolCallingChatModel
	carried []*schema.ToolInfo
	all     map[string]*schema.ToolInfo
}

func (d *discovering) forStep(msgs []*schema.Message) (model.ToolCallingChatModel, error) {
	infos := d.carried
	for _, n := range discovered(msgs) {
		if info, ok := d.all[n]; ok && !slices.ContainsFunc(infos, func(i *schema.ToolInfo) bool { return i.Name == n }) {
			infos = append(slices.Clip(infos), info)
		}
	}
	if len(infos) == len(d.carried) {
		return d.bound, nil
	}
	return d.base.WithTools(infos)
}

func (d *discovering) Generate(ctx context.Context, msgs []*schema.Message, opts ...model.Option) (*schema.Message, error) {
	m, err := d.forStep(msgs)
	if err != nil {
		return nil, err
	}
	return m.Generate(ctx, msgs, opts...)
}

func (d *discovering) Stream(ctx context.Context, msgs []*schema.Message, opts ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	m, err := d.forStep(msgs)
	if err != nil {
		return nil, err
	}
	return m.Stream(ctx, msgs, opts...)
}

func (d *discovering) WithTools(infos []*schema.ToolInfo) (model.ToolCallingChatModel, error) {
	return d.base.WithTools(infos)
}
