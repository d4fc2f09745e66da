package main

import (
	"context"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/dingtalk"
	"k8s-manage/adapters/slack"
)

// wireSurfaces builds the configured chat surfaces and the alert pipeline, mounts their HTTP
// endpoints and registers their long-running loops in the serve group.
func (a *app) wireSurfaces(context.Context) error {
	reg := a.reg
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
		a.group.Add("slack", bot.Run)
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
		a.group.Add("dingtalk", bot.Run)
		notifiers["dingtalk"] = bot
		a.log.Info("dingtalk surface on", "mode", d.Mode)
	}
	al := cfg.Alerts
	if !al.Enabled {
		return nil
	}
	queue := a.alerts
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
	w, err := alertmanager.NewWorker(alertmanager.WorkerOptions{Queue: queue, Agent: a.agent, Owners: a.platform.owners,
		Notifiers: notifiers, Routes: routes, Identity: al.Identity, Chinese: al.Language == "zh", RateLimit: al.RateLimit,
		RateWindow: al.RateWindow.D(), Concurrency: al.Concurrency, Lease: al.Lease.D(), Wake: wake, Log: a.log.With("surface", "alertmanager"),
		Registry: reg})
	if err != nil {
		return err
	}
	a.group.Add("alert workers", w.Run)
	a.log.Info("alert diagnosis on", "routes", len(routes), "identity", al.Identity)
	return nil
}
