package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/prometheus/client_golang/prometheus"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/dingtalk"
	"k8s-manage/adapters/slack"
	"k8s-manage/platform/tenant"
)

// wireSurfaces builds the configured chat surfaces and the alert pipeline, mounts their HTTP
// endpoints and registers their long-running loops in a.runners.
func (a *app) wireSurfaces(reg prometheus.Registerer) error {
	cfg := a.cfg
	notifiers := map[string]alertmanager.Notifier{}
	if s := cfg.Slack; s.Enabled {
		bot, err := slack.New(slack.Options{BotToken: s.BotToken, AppToken: s.AppToken, SigningSecret: s.SigningSecret, Mode: s.Mode,
			TeamID: s.TeamID, Channels: s.Channels, DefaultTenant: s.DefaultTenant, APIURL: s.APIURL, Agent: a.agent, Seen: a.store,
			Log: a.log.With("surface", "slack")})
		if err != nil {
			return err
		}
		if s.Mode == "http" {
			a.http.API().Post("/slack/events", bot.Handler().ServeHTTP)
		}
		a.runners = append(a.runners, bot.Run)
		notifiers["slack"] = bot
		a.log.Info("slack surface on", "mode", s.Mode)
	}
	if d := cfg.DingTalk; d.Enabled {
		robots := map[string]dingtalk.Robot{}
		for name, r := range d.Robots {
			robots[name] = dingtalk.Robot{Webhook: r.Webhook, Secret: r.Secret}
		}
		bot, err := dingtalk.New(dingtalk.Options{ClientID: d.ClientID, ClientSecret: d.ClientSecret, Mode: d.Mode, RobotCode: d.RobotCode,
			CardTemplateID: d.CardTemplateID, Staff: d.Staff, Conversations: d.Conversations, DefaultTenant: d.DefaultTenant,
			Robots: robots, OpenAPIHost: d.OpenAPIHost, Agent: a.agent, Seen: a.store, Log: a.log.With("surface", "dingtalk")})
		if err != nil {
			return err
		}
		if d.Mode == "outgoing" {
			a.http.API().Post("/dingtalk/outgoing", bot.Handler().ServeHTTP)
		}
		a.runners = append(a.runners, bot.Run)
		notifiers["dingtalk"] = bot
		a.log.Info("dingtalk surface on", "mode", d.Mode)
	}
	al := cfg.Alerts
	if !al.Enabled {
		return nil
	}
	queue := alertmanager.NewQueue(a.store, nil)
	wake := make(chan struct{}, 1)
	h, err := alertmanager.Handler(alertmanager.HandlerOptions{Queue: queue, Auth: alertmanager.Auth{BearerToken: al.BearerToken,
		Username: al.Username, Password: al.Password}, Wake: wake, Log: a.log.With("surface", "alertmanager")})
	if err != nil {
		return err
	}
	a.http.API().Post("/alerts/alertmanager", h.ServeHTTP)
	if al.Concurrency == 0 {
		a.log.Info("alert webhook on; this process only receives (alerts.concurrency 0)")
		return nil
	}
	var routes []alertmanager.Route
	for _, r := range al.Routes {
		rt := alertmanager.Route{Match: r.Match}
		for _, c := range r.Slack {
			rt.Targets = append(rt.Targets, alertmanager.Target{Surface: "slack", Channel: c})
		}
		for _, c := range r.DingTalk {
			rt.Targets = append(rt.Targets, alertmanager.Target{Surface: "dingtalk", Channel: c})
		}
		routes = append(routes, rt)
	}
	w, err := alertmanager.NewWorker(alertmanager.WorkerOptions{Queue: queue, Agent: a.agent, Owners: newNamespaceOwners(a.kube.Admin()),
		Notifiers: notifiers, Routes: routes, Identity: al.Identity, Chinese: al.Language == "zh", RateLimit: al.RateLimit,
		RateWindow: al.RateWindow.D(), Concurrency: al.Concurrency, Lease: al.Lease.D(), Wake: wake, Log: a.log.With("surface", "alertmanager"),
		Registry: reg})
	if err != nil {
		return err
	}
	a.runners = append(a.runners, w.Run)
	a.log.Info("alert diagnosis on", "routes", len(routes), "identity", al.Identity)
	return nil
}

// namespaceOwners reads a namespace's tenant and environment labels (cached for a minute).
type namespaceOwners struct {
	cs    kubernetes.Interface
	mu    sync.Mutex
	cache map[string]owner
}

type owner struct {
	tenant, env string
	at          time.Time
}

func newNamespaceOwners(cs kubernetes.Interface) *namespaceOwners {
	return &namespaceOwners{cs: cs, cache: map[string]owner{}}
}

func (n *namespaceOwners) Owner(ctx context.Context, ns string) (string, string, error) {
	n.mu.Lock()
	o, ok := n.cache[ns]
	n.mu.Unlock()
	if ok && time.Since(o.at) < time.Minute {
		return o.tenant, o.env, nil
	}
	got, err := n.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		o = owner{at: time.Now()}
	case err != nil:
		return "", "", fmt.Errorf("read namespace %s: %w", ns, err)
	default:
		o = owner{tenant: got.Labels[tenant.LabelTenant], env: got.Labels[tenant.LabelEnv], at: time.Now()}
	}
	n.mu.Lock()
	n.cache[ns] = o
	n.mu.Unlock()
	return o.tenant, o.env, nil
}

// runAll runs fns until ctx ends; the first failure is returned after all have stopped.
func runAll(ctx context.Context, fns []func(context.Context) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, f := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
