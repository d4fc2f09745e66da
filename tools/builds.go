package tools

import (
	"cmp"
	"context"
	"fmt"

	"k8s-manage/internal/textutil"
	"k8s-manage/internal/toolname"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/build"
	"k8s-manage/platform/tenant"
)

type (
	buildListArgs struct {
		Target
		App string `json:"app,omitempty" desc:"application name; default: all"`
	}
	buildArgs struct {
		Target
		Build string `json:"build" jsonschema:"required" desc:"build id"`
	}
	triggerArgs struct {
		Target
		App string `json:"app" jsonschema:"required" desc:"application name"`
		Ref string `json:"ref,omitempty" desc:"git branch, tag or commit; default: the app's first build branch"`
	}
)

func (d Deps) buildTools() []*Tool {
	v, dev := tenant.Viewer, tenant.Developer
	return unless(d.Builds != nil, laterBuilds,
		define[buildListArgs](Spec{Name: toolname.ListBuilds, Desc: "Recent builds (of an application, or all) with ref, commit, author, image, status and timings.", Risk: ReadOnly, Role: v,
			Examples: []string{"recent builds?", "did the payment build pass"},
			Intents: []Intent{
				{Verbs: []string{"构建", "build"}, Weight: 4},
			}},
			func(ctx context.Context, c Call, in *buildListArgs, _ bool) (any, error) {
				if err := d.Builds.Sync(ctx, c.Tenant, c.Env); err != nil {
					return nil, err
				}
				return d.Builds.List(ctx, c.Tenant, c.Env, in.App, 20)
			}),
		define[buildArgs](Spec{Name: toolname.GetBuild, Desc: "One build with its status and the end of its log.", Risk: ReadOnly, Role: v,
			Examples: []string{"show build b-1042", "what happened in build #b-2001"},
			Intents: []Intent{
				{Verbs: []string{"构建", "build"}, Needs: []string{NeedBuildID}, Required: []string{"build"}, Weight: 7},
			}},
			func(ctx context.Context, c Call, in *buildArgs, _ bool) (any, error) {
				if err := d.Builds.Sync(ctx, c.Tenant, c.Env); err != nil {
					return nil, err
				}
				b, err := d.Builds.Get(ctx, c.Tenant, c.Env, in.Build)
				if err == nil {
					b.Log, _ = CapLog(b.Log, 60)
					b.Log, _ = textutil.CapTail(b.Log, maxLogBytes)
					b.Log = textutil.Quote("log", b.Log)
				}
				return b, err
			}),
		define[triggerArgs](Spec{Name: toolname.TriggerBuild, Desc: "Start a build of an application from a git ref.", Risk: Mutating, Role: dev,
			Examples: []string{"build web-api from feature/login", "构建一下 nginx 的 hotfix 分支"},
			Intents: []Intent{
				{Verbs: []string{"构建", "build", "打包", "编译"}, Needs: []string{"kick off", "trigger", "start", "run", "从", "from", "分支", "branch", "一下", "构建 "}, Not: []string{"最近", "recent", "成功", "pass", "status", "history", "did"}, Required: []string{"app"}, Weight: 6},
			}},
			func(ctx context.Context, c Call, in *triggerArgs, dry bool) (any, error) {
				if dry {
					return &apps.Change{Summary: fmt.Sprintf("build %s in %s from %s", in.App, c.Namespace, cmp.Or(in.Ref, "its default branch")), DryRun: true,
						Objects: []apps.ObjectChange{{Kind: "Job", Name: c.Namespace + "/build-" + in.App + "-…", Action: "create"}}}, nil
				}
				cs, err := d.Kube.As(tenant.Identity(c.User))
				if err != nil {
					return nil, err
				}
				return d.Builds.Start(ctx, cs, build.Trigger{Tenant: c.Tenant, Env: c.Env, App: in.App, Ref: in.Ref, Author: c.User, By: "tool"})
			}),
	)
}
