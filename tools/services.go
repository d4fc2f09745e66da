package tools

import (
	"context"

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
		define[noArgs](Spec{Name: "list_service_instances", Desc: "Service catalog instances of the environment with connection info (credentials by Secret name only).", Risk: ReadOnly, Role: v},
			func(ctx context.Context, c Call, _ *noArgs, _ bool) (any, error) {
				return d.Catalog.List(ctx, d.target(c))
			}),
		define[provisionArgs](Spec{Name: "provision_service", Desc: "Provision a service catalog instance with a plan.", Risk: Mutating, Role: ops},
			func(ctx context.Context, c Call, in *provisionArgs, dry bool) (any, error) {
				return d.Catalog.Provision(ctx, d.target(c), catalog.Spec{Type: in.Type, Name: in.Name, Plan: in.Plan}, wopts(dry))
			}),
		define[instanceArgs](Spec{Name: "delete_service_instance", Desc: "Delete a service catalog instance and ALL its data.", Risk: Destructive, Role: ops},
			func(ctx context.Context, c Call, in *instanceArgs, dry bool) (any, error) {
				return d.Catalog.Delete(ctx, d.target(c), in.Name, wopts(dry))
			}),
	)
}
