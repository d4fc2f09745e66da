package tools

import (
	"context"
	"time"

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
func (d Deps) appChange(name, desc string, risk Risk, fn func(ctx context.Context, t apps.Target, app string, o apps.WriteOptions) (*apps.Change, error)) *Tool {
	return define[appArgs](Spec{Name: name, Desc: desc, Risk: risk, Role: tenant.Developer},
		func(ctx context.Context, c Call, in *appArgs, dry bool) (any, error) {
			ch, err := fn(ctx, d.target(c), in.App, wopts(dry))
			return d.settled(ctx, c, in.App, ch, err, dry)
		})
}

func (d Deps) appTools() []*Tool {
	v, dev := tenant.Viewer, tenant.Developer
	return []*Tool{
		define[noArgs](Spec{Name: "list_apps", Desc: "List the environment's applications with image and ready/desired replicas.", Risk: ReadOnly, Role: v},
			func(ctx context.Context, c Call, _ *noArgs, _ bool) (any, error) {
				return d.Apps.List(ctx, d.target(c))
			}),
		define[appArgs](Spec{Name: "get_app_status", Desc: "An application's replicas, rollout, conditions, pods with failure reasons, canary or blue-green slots.", Risk: ReadOnly, Role: v},
			func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
				return d.Apps.Get(ctx, d.target(c), in.App)
			}),
		define[appArgs](Spec{Name: "list_revisions", Desc: "An application's rollout history: revisions, images, change causes.", Risk: ReadOnly, Role: v},
			func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
				return d.Apps.Revisions(ctx, d.target(c), in.App)
			}),
		define[appArgs](Spec{Name: "get_hpa", Desc: "An application's autoscaler: min/max, targets, current metrics, conditions.", Risk: ReadOnly, Role: v},
			func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
				return d.Autoscale.Get(ctx, d.target(c), in.App)
			}),

		define[appArgs](Spec{Name: "get_app_config", Desc: "An application's editable configuration: image, replicas, command, args, env vars, ports, resources, probes, with its version.", Risk: ReadOnly, Role: v},
			func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
				return d.Apps.GetConfig(ctx, d.target(c), in.App)
			}),

		// Mutating: wait for approval.
		define[createArgs](Spec{Name: "create_app", Desc: "Create an application (Deployment, and a Service for its ports) from an image, with env vars, ports, command, resources and probes.", Risk: Mutating, Role: dev},
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
		define[updateArgs](Spec{Name: "update_app", Desc: "Change an application's configuration in one rollout: image, replicas, command, args, env vars, ports, resources, probes.", Risk: Mutating, Role: dev},
			func(ctx context.Context, c Call, in *updateArgs, dry bool) (any, error) {
				sp := in.specArgs
				ch, err := d.Apps.Update(ctx, d.target(c), in.App, apps.Config{Image: sp.Image, Replicas: sp.Replicas, Command: sp.Command, Args: sp.Args,
					Env: sp.EnvVars, Ports: sp.Ports, Resources: sp.Resources, Readiness: sp.Readiness, Liveness: sp.Liveness}, in.Version, wopts(dry))
				return d.settled(ctx, c, in.App, ch, err, dry)
			}),
		define[scaleArgs](Spec{Name: "scale_app", Desc: "Set an application's number of replicas.", Risk: Mutating, Role: dev},
			func(ctx context.Context, c Call, in *scaleArgs, dry bool) (any, error) {
				ch, err := d.Apps.Scale(ctx, d.target(c), in.App, in.Replicas, wopts(dry))
				return d.settled(ctx, c, in.App, ch, err, dry)
			}),
		d.appChange("restart_app", "Rolling restart of every pod of an application.", Mutating, d.Apps.Restart),
		define[rollbackArgs](Spec{Name: ToolRollbackApp, Desc: "Roll an application back to a revision.", Risk: Mutating, Role: dev},
			func(ctx context.Context, c Call, in *rollbackArgs, dry bool) (any, error) {
				ch, err := d.Apps.Rollback(ctx, d.target(c), in.App, in.Revision, wopts(dry))
				return d.settled(ctx, c, in.App, ch, err, dry)
			}),
		define[imageArgs](Spec{Name: "set_image", Desc: "Deploy a new image (rolling update; blue-green apps: to the idle slot).", Risk: Mutating, Role: dev},
			func(ctx context.Context, c Call, in *imageArgs, dry bool) (any, error) {
				ch, err := d.Apps.SetImage(ctx, d.target(c), in.App, in.Image, wopts(dry))
				return d.settled(ctx, c, in.App, ch, err, dry)
			}),
		define[hpaArgs](Spec{Name: ToolSetHPA, Desc: "Create or update an application's autoscaler.", Risk: Mutating, Role: dev},
			func(ctx context.Context, c Call, in *hpaArgs, dry bool) (any, error) {
				return d.Autoscale.Set(ctx, d.target(c), in.App, autoscale.Spec{MinReplicas: in.MinReplicas, MaxReplicas: in.MaxReplicas,
					CPUTargetPercent: in.CPUTargetPercent, MemoryTargetPercent: in.MemoryTargetPercent}, wopts(dry))
			}),
		define[appArgs](Spec{Name: "delete_hpa", Desc: "Remove an application's autoscaler (replicas stay as they are).", Risk: Mutating, Role: dev},
			func(ctx context.Context, c Call, in *appArgs, dry bool) (any, error) {
				return d.Autoscale.Delete(ctx, d.target(c), in.App, wopts(dry))
			}),
		define[canaryArgs](Spec{Name: "start_canary", Desc: "Start a canary: the image on weight_percent of the replicas behind the same Service.", Risk: Mutating, Role: dev},
			func(ctx context.Context, c Call, in *canaryArgs, dry bool) (any, error) {
				return d.Apps.StartCanary(ctx, d.target(c), in.App, in.Image, in.WeightPercent, wopts(dry))
			}),
		d.appChange("promote_canary", "Promote the running canary to all replicas.", Mutating, d.Apps.PromoteCanary),
		d.appChange("abort_canary", "Abort the running canary and restore the stable replicas.", Mutating, d.Apps.AbortCanary),
		define[appArgs](Spec{Name: "switch_blue_green", Desc: "Point a blue-green application's Service at the other slot (the old slot keeps running).", Risk: Mutating, Role: dev},
			func(ctx context.Context, c Call, in *appArgs, dry bool) (any, error) {
				return d.Apps.SwitchBlueGreen(ctx, d.target(c), in.App, wopts(dry))
			}),

		// Destructive: the approval says nothing can be brought back.
		define[appArgs](Spec{Name: "delete_app", Desc: "Delete an application: its Deployments, Service and Ingress.", Risk: Destructive, Role: dev},
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
