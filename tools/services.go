package tools

import (
	"context"

	"k8s-manage/internal/toolname"
	"k8s-manage/platform/catalog"
	"k8s-manage/platform/tenant"
)

type (
	provisionArgs struct {
		Target
		Type string `json:"type" jsonschema:"required,enum=redis,enum=mysql,enum=postgresql,enum=kafka" desc:"service type"`
		Name string `json:"name" jsonschema:"required" desc:"instance name"`
		Plan string `json:"plan,omitempty" jsonschema:"enum=small,enum=medium,enum=large" desc:"size plan; default small"`
	}
	instanceArgs struct {
		Target
		Name string `json:"name" jsonschema:"required" desc:"instance name"`
	}
)

// serviceTools are the service catalog's tools.
func (d Deps) serviceTools() []*Tool {
	v, ops := tenant.Viewer, tenant.Operator
	return unless(d.Catalog != nil, laterCatalog,
		define[noArgs](Spec{Name: toolname.ListServiceInstances, Desc: "Service catalog instances of the environment with connection info (credentials by Secret name only).", Risk: ReadOnly, Role: v,
			Examples: []string{"what databases do we have", "list our redis / mysql instances"},
			Intents: []Intent{
				{Verbs: []string{"中间件", "数据库", "databases", "service instances", "服务实例", "instances of services", "缓存", "instances"}, Weight: 4},
			}},
			func(ctx context.Context, c Call, _ *noArgs, _ bool) (any, error) {
				return d.Catalog.List(ctx, d.target(c))
			}),
		define[provisionArgs](Spec{Name: toolname.ProvisionService, Desc: "Provision a service catalog instance with a plan.", Risk: Mutating, Role: ops,
			Examples: []string{"we need a redis called session-cache", "provision a large postgres named analytics"},
			Intents: []Intent{
				{Verbs: []string{"redis", "mysql", "postgres", "kafka"}, Needs: []string{"申请", "开", "创建", "建", "need", "provision", "create", "set up", "spin up", "give me", "want"}, Required: []string{"type", "name"}, Weight: 8},
			}},
			func(ctx context.Context, c Call, in *provisionArgs, dry bool) (any, error) {
				return d.Catalog.Provision(ctx, d.target(c), catalog.Spec{Type: in.Type, Name: in.Name, Plan: in.Plan}, wopts(dry))
			}),
		define[instanceArgs](Spec{Name: toolname.DeleteServiceInstance, Desc: "Delete a service catalog instance and ALL its data.", Risk: Destructive, Role: ops,
			Examples: []string{"delete the session-cache instance", "drop the analytics postgres instance"},
			Intents: []Intent{
				{Verbs: []string{"删除", "删掉", "delete", "remove", "drop"}, Needs: []string{"实例", "instance", "中间件", "redis", "mysql", "postgres", "kafka", "database", "数据库"}, Required: []string{"name"}, Weight: 8},
			}},
			func(ctx context.Context, c Call, in *instanceArgs, dry bool) (any, error) {
				return d.Catalog.Delete(ctx, d.target(c), in.Name, wopts(dry))
			}),
	)
}
