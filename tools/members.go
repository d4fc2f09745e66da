package tools

import (
	"context"
	"fmt"
	"slices"

	"github.com/eino-contrib/jsonschema"

	"k8s-manage/internal/toolname"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

type (
	memberArgs struct {
		Target
		Email string `json:"email" jsonschema:"required" desc:"the member's e-mail"`
		Role  string `json:"role" jsonschema:"required,enum=viewer,enum=developer,enum=operator,enum=admin" desc:"role in the tenant"`
	}
	quotaArgs struct {
		Target
		Hard map[string]string `json:"hard" jsonschema:"required" desc:"new hard limits by resource (only those given change), e.g. {\"requests.cpu\": \"8\", \"pods\": \"40\"}"`
	}
)

// QuotaKeys are the resources set_quota may change.
var QuotaKeys = []string{"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods", "services", "persistentvolumeclaims", "requests.storage"}

// memberTools manage the tenant itself: who is in it, and its quota.
func (d Deps) memberTools() []*Tool {
	adm := tenant.Admin
	quotaTool := define[quotaArgs](Spec{Name: toolname.SetQuota, Desc: "Change hard limits of the environment's resource quota.", Risk: Mutating, Role: adm,
		ChatOnly: true, // a quota change is asked in chat, and approved there
		Examples: []string{"raise the cpu quota to 16", "bump pods quota in test to 50"},
		Intents: []Intent{
			{Verbs: []string{"配额", "quota"}, Needs: []string{"提", "改", "调", "设", "raise", "set", "increase", "lower", "change", "bump"}, Required: []string{"hard"}, Weight: 7},
		}},
		func(ctx context.Context, c Call, in *quotaArgs, dry bool) (any, error) {
			for k := range in.Hard {
				if !slices.Contains(QuotaKeys, k) {
					return nil, perr.Invalidf("hard."+k, "is not a quota resource (use one of %v)", QuotaKeys)
				}
			}
			return d.Quota.Set(ctx, d.target(c), in.Hard, wopts(dry))
		})
	if p, ok := quotaTool.params.Properties.Get("hard"); ok {
		p.PropertyNames = &jsonschema.Schema{Type: "string", Enum: anySlice(QuotaKeys)}
	}
	return []*Tool{
		define[noArgs](Spec{Name: toolname.ListTenants, Desc: "The tenants you belong to and your role in each.", Risk: ReadOnly,
			Examples: []string{"which teams am i in", "我有哪些团队的权限"},
			Intents: []Intent{
				{Verbs: []string{"团队", "租户", "teams", "tenants"}, Needs: []string{"我", " i ", "my", "am i"}, Weight: 5},
			}},
			func(ctx context.Context, c Call, _ *noArgs, _ bool) (any, error) {
				return d.Tenants.TenantsOf(ctx, c.User)
			}),
		quotaTool,
		define[memberArgs](Spec{Name: toolname.AddMember, Desc: "Add a member to the tenant, or change their role.", Risk: Mutating, Role: adm,
			Examples: []string{"add bob@example.com as a developer", "eve@example.com 加成开发角色"},
			Intents: []Intent{
				{Verbs: []string{"@"}, Needs: []string{"加", "add", "give", "role", "角色", "invite", "当", "as"}, Required: []string{"email", "role"}, Weight: 8},
			}},
			func(ctx context.Context, c Call, in *memberArgs, dry bool) (any, error) {
				return d.addMember(ctx, c, in, dry)
			}),
	}
}

func (d Deps) addMember(ctx context.Context, c Call, in *memberArgs, dry bool) (any, error) {
	role, err := tenant.ParseRole(in.Role)
	if err != nil {
		return nil, perr.Invalidf("role", "%v", err)
	}
	summary := fmt.Sprintf("make %s a %s of tenant %s (RoleBindings in every environment)", in.Email, role, c.Tenant)
	if dry {
		return &apps.Change{Summary: summary, DryRun: true}, nil
	}
	rep, err := d.Tenants.SetMember(ctx, c.Tenant, in.Email, role)
	if err != nil {
		return nil, err
	}
	return map[string]any{"summary": summary, "updated": rep.Updated}, nil
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
