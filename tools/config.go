package tools

import (
	"context"
	"fmt"
	"time"

	"k8s-manage/internal/toolname"
	"k8s-manage/platform/apps"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/envclone"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

type (
	configDiffArgs struct {
		Target
		App   string `json:"app" jsonschema:"required" desc:"application name"`
		Since string `json:"since,omitempty" desc:"how far back to compare, a duration such as 24h or 30m; default 24h"`
	}
	setConfigArgs struct {
		Target
		App    string `json:"app" jsonschema:"required" desc:"application name"`
		Key    string `json:"key" jsonschema:"required" desc:"configuration key"`
		Value  string `json:"value" jsonschema:"required" desc:"new value"`
		Secret bool   `json:"secret,omitempty" desc:"store as a secret (encrypted, never shown); default false"`
	}
	cloneArgs struct {
		Target
		FromEnv   string            `json:"from_env" jsonschema:"required" desc:"source environment"`
		ToEnv     string            `json:"to_env" jsonschema:"required" desc:"target environment"`
		Images    map[string]string `json:"images,omitempty" desc:"image overrides by app name"`
		Overwrite bool              `json:"overwrite,omitempty" desc:"replace apps that already exist in the target; default false"`
	}
)

func (d Deps) configTools() []*Tool {
	v, dev, adm := tenant.Viewer, tenant.Developer, tenant.Admin
	ts := unless(d.Config != nil, laterConfig,
		define[appArgs](Spec{Name: toolname.GetConfig, Desc: "An application's configuration in the environment (secret values masked).", Risk: ReadOnly, Role: v,
			Examples: []string{"what's payment's config", "show checkout settings"},
			Intents: []Intent{
				{Verbs: []string{"配置", "config", "settings", "env vars", "环境变量"}, Required: []string{"app"}, Weight: 5},
			}},
			func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
				return d.Config.Get(ctx, pconfig.Ref{Tenant: c.Tenant, Env: c.Env, App: in.App}, false)
			}),
		define[configDiffArgs](Spec{Name: toolname.ConfigDiff, Desc: "What changed in an application's configuration over a recent period: keys added, changed, removed, with authors (secrets masked).", Risk: ReadOnly, Role: v,
			Examples: []string{"what changed in payment's config in the last 24h", "config diff for checkout over the past 6 hours"},
			Intents: []Intent{
				{Verbs: []string{"配置", "config"}, Needs: []string{"谁动", "动过", "改了什么", "变更", "变化", "changed", "change history", "changes", "diff", "改动", "touch", "anyone", "recently"}, Required: []string{"app"}, Weight: 7},
			}},
			func(ctx context.Context, c Call, in *configDiffArgs, _ bool) (any, error) {
				since := 24 * time.Hour
				if in.Since != "" {
					var err error
					if since, err = time.ParseDuration(in.Since); err != nil || since <= 0 {
						return nil, perr.Invalidf("since", "must be a positive duration such as 24h or 30m")
					}
				}
				return d.Config.Diff(ctx, pconfig.Ref{Tenant: c.Tenant, Env: c.Env, App: in.App}, time.Now().Add(-since), time.Time{})
			}),
		define[setConfigArgs](Spec{Name: toolname.SetConfig, Desc: "Set a configuration value (or, with secret, an encrypted secret) of an application; the app reloads it.", Risk: Mutating, Role: dev,
			Examples: []string{"GATEWAY_URL 换成 https://gw.internal.example.com on web-api", "checkout 的 TIMEOUT_MS 改成 3000"},
			Intents: []Intent{
				{Verbs: []string{"="}, Required: []string{"app", "key", "value"}, Weight: 7},
				{Verbs: []string{"配置", "config", "设成", "设为", "设置为", "改为", "改成", "换成", "改到", "->", "set ", "change "}, Needs: []string{NeedKey}, Required: []string{"app", "key", "value"}, Weight: 6},
			}},
			func(ctx context.Context, c Call, in *setConfigArgs, dry bool) (any, error) {
				return d.Config.Set(ctx, tenant.Identity(c.User), pconfig.Ref{Tenant: c.Tenant, Env: c.Env, App: in.App}, in.Key, in.Value,
					pconfig.SetOptions{Secret: in.Secret, DryRun: dry})
			}),
	)
	return append(ts, unless(d.Clone != nil, laterEnv,
		define[cloneArgs](Spec{Name: toolname.CloneEnvironment, Desc: "Clone an environment's apps, configs (secrets re-encrypted), autoscalers and quota to another environment.", Risk: Mutating, Role: adm,
			Examples: []string{"clone dev to test", "copy everything from test into dev"},
			Intents: []Intent{
				{Verbs: []string{"clone", "copy", "mirror", "复制", "克隆"}, Needs: []string{"env", "环境", " to ", "into", "到"}, Required: []string{"from_env", "to_env"}, Weight: 8},
			}},
			func(ctx context.Context, c Call, in *cloneArgs, dry bool) (any, error) {
				ov := map[string]envclone.Override{}
				for app, img := range in.Images {
					ov[app] = envclone.Override{Image: img}
				}
				rep, err := d.Clone.Clone(ctx, tenant.Identity(c.User), c.Tenant, in.FromEnv, in.ToEnv, envclone.Options{Overrides: ov, Overwrite: in.Overwrite, DryRun: dry})
				if err != nil || !dry {
					return rep, err
				}
				return &apps.Change{Summary: fmt.Sprintf("clone %s to %s: %d objects", rep.From, rep.To, len(rep.Created)), DryRun: true}, nil
			}))...)
}
