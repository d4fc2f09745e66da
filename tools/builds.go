package tools

import (
	"cmp"
	"context"
	"fmt"

	"k8s-manage/internal/textutil"
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
		define[buildListArgs](Spec{Name: "list_builds", Desc: "Recent builds (of an application, or all) with ref, commit, author, image, status and timings.", Risk: ReadOnly, Role: v},
			func(ctx context.Context, c Call, in *buildListArgs, _ bool) (any, error) {
				if err := d.Builds.Sync(ctx, c.Tenant, c.Env); err != nil {
					return nil, err
				}
				return d.Builds.List(ctx, c.Tenant, c.Env, in.App, 20)
			}),
		define[buildArgs](Spec{Name: "get_build", Desc: "One build with its status and the end of its log.", Risk: ReadOnly, Role: v},
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
		define[triggerArgs](Spec{Name: "trigger_build", Desc: "Start a build of an application from a git ref.", Risk: Mutating, Role: dev},
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
