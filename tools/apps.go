package tools

import (
	"context"
	"time"

	"k8s-manage/internal/toolname"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/tenant"
)

type (
	noArgs  struct{ Target }
	appArgs struct {
		Target
		App string `json:"app" jsonschema:"required" desc:"application name, e.g. nginx"`
	}
	scaleArgs struct {
		Target
		App      string `json:"app" jsonschema:"required" desc:"application name"`
		Replicas int32  `json:"replicas" jsonschema:"required,minimum=0,maximum=500" desc:"desired number of replicas"`
	}
	rollbackArgs struct {
		Target
		App      string `json:"app" jsonschema:"required" desc:"application name"`
		Revision int64  `json:"revision,omitempty" jsonschema:"minimum=1" desc:"revision to restore; default: the previous one"`
	}
	imageArgs struct {
		Target
		App   string `json:"app" jsonschema:"required" desc:"application name"`
		Image string `json:"image" jsonschema:"required" desc:"new image reference, e.g. registry.example.com/team/web:1.4.2"`
	}
	hpaArgs struct {
		Target
		App                 string `json:"app" jsonschema:"required" desc:"application name"`
		MinReplicas         int32  `json:"min_replicas" jsonschema:"required,minimum=1,maximum=500" desc:"minimum replicas"`
		MaxReplicas         int32  `json:"max_replicas" jsonschema:"required,minimum=1,maximum=500" desc:"maximum replicas"`
		CPUTargetPercent    int32  `json:"cpu_target_percent,omitempty" jsonschema:"minimum=1,maximum=100" desc:"target average CPU utilisation, percent of requests"`
		MemoryTargetPercent int32  `json:"memory_target_percent,omitempty" jsonschema:"minimum=1,maximum=100" desc:"target average memory utilisation, percent of requests"`
	}
	// specArgs is an app's editable configuration, as a form or an API request sends it.
	specArgs struct {
		Image     string            `json:"image" jsonschema:"required" desc:"image reference, e.g. registry.example.com/team/web:1.4.2"`
		Replicas  int32             `json:"replicas" jsonschema:"minimum=0,maximum=500" desc:"desired number of replicas"`
		Command   []string          `json:"command,omitempty" desc:"container command (entrypoint); default: the image's"`
		Args      []string          `json:"args,omitempty" desc:"container arguments"`
		EnvVars   map[string]string `json:"env_vars,omitempty" desc:"environment variables (plain values; secrets go through set_config)"`
		Ports     []apps.Port       `json:"ports,omitempty" desc:"container ports, exposed by the app's Service"`
		Resources apps.Resources    `json:"resources,omitzero" desc:"CPU and memory requests and limits, e.g. 250m, 512Mi"`
		Readiness *apps.Probe       `json:"readiness,omitempty" desc:"readiness probe: HTTP path and port, or a TCP port"`
		Liveness  *apps.Probe       `json:"liveness,omitempty" desc:"liveness probe: HTTP path and port, or a TCP port"`
	}
	createArgs struct {
		Target
		App string `json:"app" jsonschema:"required" desc:"new application name: lower-case letters, digits and '-'"`
		specArgs
		Strategy string `json:"strategy,omitempty" jsonschema:"enum=rolling,enum=blue-green" desc:"rollout strategy (default rolling)"`
		Host     string `json:"host,omitempty" desc:"domain to serve the app on (an Ingress to its first port), e.g. shop.example.com"`
	}
	updateArgs struct {
		Target
		App string `json:"app" jsonschema:"required" desc:"application name"`
		specArgs
		Version string `json:"version,omitempty" desc:"the version the change was made against (from get_app_config); a changed app refuses it"`
	}
	canaryArgs struct {
		Target
		App           string `json:"app" jsonschema:"required" desc:"application name"`
		Image         string `json:"image" jsonschema:"required" desc:"image of the canary"`
		WeightPercent int    `json:"weight_percent" jsonschema:"required,minimum=1,maximum=99" desc:"share of replicas (and so of traffic) for the canary"`
	}
)

// appChange is a tool that changes one app through fn and reports the settled rollout.
// Its Role is a developer's.
func (d Deps) appChange(spec Spec, fn func(ctx context.Context, t apps.Target, app string, o apps.WriteOptions) (*apps.Change, error)) *Tool {
	spec.Role = tenant.Developer
	return define[appArgs](spec,
		func(ctx context.Context, c Call, in *appArgs, dry bool) (any, error) {
			ch, err := fn(ctx, d.target(c), in.App, wopts(dry))
			return d.settled(ctx, c, in.App, ch, err, dry)
		})
}

func (d Deps) appTools() []*Tool {
	v, dev := tenant.Viewer, tenant.Developer
	return []*Tool{
		define[noArgs](Spec{Name: toolname.ListApps, Desc: "List the environment's applications with image and ready/desired replicas.", Risk: ReadOnly, Role: v,
			Examples: []string{"what's deployed in dev", "应用列表发一下"},
			Intents: []Intent{
				{Verbs: []string{"哪些服务", "哪些应用", "什么服务", "什么应用", "都部署了", "部署了啥", "有哪些应用", "what apps", "which apps", "list apps", "list my app", "every app", "all apps", "all the apps", "applications", "everything that's deployed", "everything deployed", "what's deployed", "所有应用", "应用列表"}, Weight: 3},
				// A list verb with the noun: "列出应用", "查看所有服务", "list the services".
				{Verbs: []string{"列出", "列一下", "查看所有", "看看所有", "list", "show all"}, Needs: []string{"应用", "服务", "apps", "services"},
					Not: []string{"实例", "中间件", "pod", "容器", "instances", "builds", "构建"}, Weight: 3},
			}},
			func(ctx context.Context, c Call, _ *noArgs, _ bool) (any, error) {
				return d.Apps.List(ctx, d.target(c))
			}),
		define[appArgs](Spec{Name: toolname.GetAppStatus, Desc: "An application's replicas, rollout, conditions, pods with failure reasons, canary or blue-green slots.", Risk: ReadOnly, Role: v,
			Examples: []string{"how's checkout doing", "user-center 跑得咋样"},
			Intents: []Intent{
				{Verbs: []string{"状态", "怎么样", "还好", "正常", "healthy", "status", "how is", "how's", "doing", "check on", "运行", "跑得", "looking", "ok?"}, Required: []string{"app"}, Weight: 3},
			}},
			func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
				return d.Apps.Get(ctx, d.target(c), in.App)
			}),
		define[appArgs](Spec{Name: toolname.ListRevisions, Desc: "An application's rollout history: revisions, images, change causes.", Risk: ReadOnly, Role: v,
			Examples: []string{"rollout history of web-api", "what versions has checkout been on"},
			Intents: []Intent{
				{Verbs: []string{"版本", "revision", "rollout history", "release history", "history", "versions", "发布记录"}, Not: []string{"回滚", "回退", "退回", "roll back", "rollback", "revert", "回到", "undo", "go back"}, Required: []string{"app"}, Weight: 5},
			}},
			func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
				return d.Apps.Revisions(ctx, d.target(c), in.App)
			}),
		define[appArgs](Spec{Name: toolname.GetHPA, Desc: "An application's autoscaler: min/max, targets, current metrics, conditions.", Risk: ReadOnly, Role: v,
			Examples: []string{"what's the hpa on web-api look like", "order-service hpa 状态"},
			Intents: []Intent{
				{Verbs: []string{"hpa", "autoscal", "自动扩缩", "自动伸缩"}, Required: []string{"app"}, Weight: 8},
			}},
			func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
				return d.Autoscale.Get(ctx, d.target(c), in.App)
			}),

		define[appArgs](Spec{Name: toolname.GetAppConfig, Desc: "An application's editable configuration: image, replicas, command, args, env vars, ports, resources, probes, with its version.", Risk: ReadOnly, Role: v,
			Examples: []string{"what image and resources is payment running with", "show the deployment spec of checkout"},
			Intents: []Intent{
				{Verbs: []string{"resources", "资源限制", "探针", "probe", "spec", "ports", "用的什么镜像", "what image", "cpu 给了"}, Not: []string{"quota", "配额"}, Required: []string{"app"}, Weight: 6},
			}},
			func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
				return d.Apps.GetConfig(ctx, d.target(c), in.App)
			}),

		// Mutating: wait for approval.
		define[createArgs](Spec{Name: toolname.CreateApp, Desc: "Create an application (Deployment, and a Service for its ports) from an image, with env vars, ports, command, resources and probes.", Risk: Mutating, Role: dev,
			Examples: []string{"create a new app report-api, image registry.local/report-api:1.0.0, 2 replicas", "新建一个应用 notify-svc，镜像 registry.local/notify:0.1.0"},
			Intents: []Intent{
				{Verbs: []string{"create", "新建", "创建", "起一个", "spin up", "new app", "new service", "deploy a new"}, Needs: []string{NeedImage, "image", "镜像"}, Required: []string{"new_app", "image"}, Weight: 9},
			}},
			func(ctx context.Context, c Call, in *createArgs, dry bool) (any, error) {
				sp := in.specArgs
				spec := apps.Spec{Name: in.App, Image: sp.Image, Replicas: sp.Replicas, Command: sp.Command, Args: sp.Args,
					Env: sp.EnvVars, Ports: sp.Ports, Resources: sp.Resources, Readiness: sp.Readiness, Liveness: sp.Liveness,
					Strategy: apps.Strategy{Type: in.Strategy}}
				if in.Host != "" {
					spec.Ingress = &apps.Ingress{Host: in.Host}
				}
				ch, err := d.Apps.Create(ctx, d.target(c), spec, wopts(dry))
				return d.settled(ctx, c, in.App, ch, err, dry)
			}),
		define[updateArgs](Spec{Name: toolname.UpdateApp, Desc: "Change an application's configuration in one rollout: image, replicas, command, args, env vars, ports, resources, probes.", Risk: Mutating, Role: dev,
			Examples: []string{"give checkout more memory, 1Gi limit", "把 payment 的资源调到 2c4g"},
			Intents: []Intent{
				{Verbs: []string{"资源", "resources", "cpu", "memory", "内存", "limit", "request", "probe", "探针"}, Needs: []string{"调", "改", "给", "set", "give", "change", "raise", "bump", "increase", "lower"}, Not: []string{"quota", "配额"}, Required: []string{"app", "resources"}, Weight: 6},
			}},
			func(ctx context.Context, c Call, in *updateArgs, dry bool) (any, error) {
				sp := in.specArgs
				ch, err := d.Apps.Update(ctx, d.target(c), in.App, apps.Config{Image: sp.Image, Replicas: sp.Replicas, Command: sp.Command, Args: sp.Args,
					Env: sp.EnvVars, Ports: sp.Ports, Resources: sp.Resources, Readiness: sp.Readiness, Liveness: sp.Liveness}, in.Version, wopts(dry))
				return d.settled(ctx, c, in.App, ch, err, dry)
			}),
		define[scaleArgs](Spec{Name: toolname.ScaleApp, Desc: "Set an application's number of replicas.", Risk: Mutating, Role: dev,
			Examples: []string{"scale nginx to 4 pls", "payment 缩到 1 个实例就行"},
			Intents: []Intent{
				{Verbs: []string{"扩容", "缩容", "扩到", "缩到", "扩成", "缩成", "扩一下", "扩", "缩", "加到", "减到", "scale", "bump", "reduce"}, Not: []string{"哪", "which", "list", "自动"}, Required: []string{"app", "replicas"}, Weight: 4},
				{Verbs: []string{"replica", "副本", "实例", "instances", "copies", "pods"}, Needs: []string{NeedNumber}, Not: []string{"哪", "which", "list", "列出", "几个", "how many", "服务实例", "自动", "hpa", "autoscal", "between", "最少", "最多", "min", "max"}, Required: []string{"app", "replicas"}, Weight: 3},
				{Verbs: []string{"停止", "停掉", "stop"}, Not: []string{"canary", "灰度", "金丝雀"}, Required: []string{"app"}, Weight: 4},
			}},
			func(ctx context.Context, c Call, in *scaleArgs, dry bool) (any, error) {
				ch, err := d.Apps.Scale(ctx, d.target(c), in.App, in.Replicas, wopts(dry))
				return d.settled(ctx, c, in.App, ch, err, dry)
			}),
		d.appChange(Spec{Name: toolname.RestartApp, Desc: "Rolling restart of every pod of an application.", Risk: Mutating,
			Examples: []string{"restart web-api", "order-service 重启一下"},
			Intents: []Intent{
				// A count of restarts is a question, never the command: "今天重启了几次", "how many times did it restart".
				{Verbs: []string{"重启", "重新启动", "restart", "bounce", "reboot", "kick!", "拉起"}, Not: []string{"为什么", "为啥", "why", "kick off",
					"几次", "多少次", "how many times", "how often", "how many restarts"}, Required: []string{"app"}, Weight: 5},
			}}, d.Apps.Restart),
		define[rollbackArgs](Spec{Name: toolname.RollbackApp, Desc: "Roll an application back to a revision.", Risk: Mutating, Role: dev,
			Examples: []string{"rb checkout", "payment 回滚到上一个版本"},
			Intents: []Intent{
				{Verbs: []string{"回滚", "回退", "退回", "roll back", "rollback", "revert", "undo", "回到", "go back"}, Required: []string{"app"}, Weight: 6},
			}},
			func(ctx context.Context, c Call, in *rollbackArgs, dry bool) (any, error) {
				ch, err := d.Apps.Rollback(ctx, d.target(c), in.App, in.Revision, wopts(dry))
				return d.settled(ctx, c, in.App, ch, err, dry)
			}),
		define[imageArgs](Spec{Name: toolname.SetImage, Desc: "Deploy a new image (rolling update; blue-green apps: to the idle slot).", Risk: Mutating, Role: dev,
			Examples: []string{"bump payment to 3.2.0", "nginx 升到 1.27.3"},
			Intents: []Intent{
				{Verbs: []string{"镜像", "image", "deploy!", "发布", "升级", "升到", "upgrade", "上线", "roll out", "更新", "update", "bump", "ship", "上"}, Needs: []string{NeedImage, "换", "更新", "升级", "update", "change", "new version", "新版本", "deploy!", "发布", "上线", "roll out"}, Not: []string{"history", "历史", "revisions", "发过哪些", "哪些版本"}, Required: []string{"app", "image"}, Weight: 6},
			}},
			func(ctx context.Context, c Call, in *imageArgs, dry bool) (any, error) {
				ch, err := d.Apps.SetImage(ctx, d.target(c), in.App, in.Image, wopts(dry))
				return d.settled(ctx, c, in.App, ch, err, dry)
			}),
		define[hpaArgs](Spec{Name: toolname.SetHPA, Desc: "Create or update an application's autoscaler.", Risk: Mutating, Role: dev,
			Examples: []string{"autoscale web-api between 2 and 10", "user-center 弹性伸缩 2~20，cpu 到 75% 就扩"},
			Intents: []Intent{
				{Verbs: []string{"hpa", "autoscal", "自动扩缩", "自动伸缩", "弹性伸缩"}, Needs: []string{NeedTwoNumbers}, Not: []string{"关", "删", "remove", "turn off", "disable", "delete"}, Required: []string{"app", "min_replicas", "max_replicas"}, Weight: 9},
			}},
			func(ctx context.Context, c Call, in *hpaArgs, dry bool) (any, error) {
				return d.Autoscale.Set(ctx, d.target(c), in.App, autoscale.Spec{MinReplicas: in.MinReplicas, MaxReplicas: in.MaxReplicas,
					CPUTargetPercent: in.CPUTargetPercent, MemoryTargetPercent: in.MemoryTargetPercent}, wopts(dry))
			}),
		define[appArgs](Spec{Name: toolname.DeleteHPA, Desc: "Remove an application's autoscaler (replicas stay as they are).", Risk: Mutating, Role: dev,
			Examples: []string{"turn off autoscaling for web-api", "remove the hpa from checkout, we'll pin replicas"},
			Intents: []Intent{
				{Verbs: []string{"hpa", "autoscal", "自动扩缩", "自动伸缩"}, Needs: []string{"关", "删", "remove", "turn off", "disable", "delete", "去掉"}, Required: []string{"app"}, Weight: 9},
			}},
			func(ctx context.Context, c Call, in *appArgs, dry bool) (any, error) {
				return d.Autoscale.Delete(ctx, d.target(c), in.App, wopts(dry))
			}),
		define[canaryArgs](Spec{Name: toolname.StartCanary, Desc: "Start a canary: the image on weight_percent of the replicas behind the same Service.", Risk: Mutating, Role: dev,
			Examples: []string{"start a canary of checkout with registry.local/checkout:2.1 at 10%", "先灰度 5%，web-api 上 registry.local/web-api:1.5.0"},
			Intents: []Intent{
				{Verbs: []string{"canary", "金丝雀", "灰度"}, Needs: []string{NeedImage}, Required: []string{"app", "image", "weight_percent"}, Weight: 9},
			}},
			func(ctx context.Context, c Call, in *canaryArgs, dry bool) (any, error) {
				return d.Apps.StartCanary(ctx, d.target(c), in.App, in.Image, in.WeightPercent, wopts(dry))
			}),
		d.appChange(Spec{Name: toolname.PromoteCanary, Desc: "Promote the running canary to all replicas.", Risk: Mutating,
			Examples: []string{"canary looks good, promote web-api", "ship the checkout canary to 100%"},
			Intents: []Intent{
				{Verbs: []string{"canary", "金丝雀", "灰度", "promote", "推全", "全量"}, Needs: []string{"全量", "promote", "推全", "100%", "looks good", "没问题", "go ahead", "rollout fully", "full rollout", "go full", "all traffic", "roll it out"}, Required: []string{"app"}, Weight: 10},
			}}, d.Apps.PromoteCanary),
		d.appChange(Spec{Name: toolname.AbortCanary, Desc: "Abort the running canary and restore the stable replicas.", Risk: Mutating,
			Examples: []string{"abort checkout canary, latency is through the roof", "灰度那批错误率飙到30%了，web-api 金丝雀马上停掉！"},
			Intents: []Intent{
				{Verbs: []string{"canary", "金丝雀", "灰度"}, Needs: []string{"撤", "中止", "终止", "停止", "abort", "kill", "cancel", "stop", "有问题", "取消", "停掉", "停了", "撤"}, Required: []string{"app"}, Weight: 10},
			}}, d.Apps.AbortCanary),
		define[appArgs](Spec{Name: toolname.SwitchBlueGreen, Desc: "Point a blue-green application's Service at the other slot (the old slot keeps running).", Risk: Mutating, Role: dev,
			Examples: []string{"flip web-api to the other color", "switch checkout blue green"},
			Intents: []Intent{
				{Verbs: []string{"蓝绿", "blue-green", "blue green", "bluegreen", "other color", "other colour", "cut over", "切到绿", "切到蓝"}, Required: []string{"app"}, Weight: 9},
				// "切换 payment", "给 checkout 切流": switching an app is switching its slots; switching an env or a tenant is not.
				{Verbs: []string{"切换", "切流"}, Not: []string{"环境", "env", "租户", "tenant", "镜像", "版本"}, Required: []string{"app"}, Weight: 5},
			}},
			func(ctx context.Context, c Call, in *appArgs, dry bool) (any, error) {
				return d.Apps.SwitchBlueGreen(ctx, d.target(c), in.App, wopts(dry))
			}),

		// Destructive: the approval says nothing can be brought back.
		define[appArgs](Spec{Name: toolname.DeleteApp, Desc: "Delete an application: its Deployments, Service and Ingress.", Risk: Destructive, Role: dev,
			Examples: []string{"delete search-api, we don't use it anymore", "remove the checkout app from test"},
			Intents: []Intent{
				{Verbs: []string{"删除", "删掉", "删了", "delete", "remove", "下线", "不用了"}, Not: []string{"member", "成员"}, Required: []string{"app"}, Weight: 5},
			}},
			func(ctx context.Context, c Call, in *appArgs, dry bool) (any, error) {
				return d.Apps.Delete(ctx, d.target(c), in.App, wopts(dry))
			}),
	}
}

// settled waits (bounded) for an app's rollout after a real change and adds its status, so the
// answer can say "3/3 ready" instead of "requested".
func (d Deps) settled(ctx context.Context, c Call, app string, ch *apps.Change, err error, dry bool) (any, error) {
	if err != nil || dry || d.WaitReady < 0 {
		return ch, err
	}
	wait := d.WaitReady
	if wait == 0 {
		wait = 45 * time.Second
	}
	deadline := time.Now().Add(wait)
	var st *apps.Status
	for {
		st, err = d.Apps.Get(ctx, d.target(c), app)
		if err != nil || (st.Rollout == "complete" && st.Ready == st.Desired) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ch, nil
		case <-time.After(500 * time.Millisecond):
		}
	}
	if st == nil {
		return ch, nil
	}
	return map[string]any{"summary": ch.Summary, "objects": ch.Objects, "status": st}, nil
}
