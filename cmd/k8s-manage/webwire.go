package main

import (
	"context"
	"io"

	"k8s.io/client-go/tools/remotecommand"

	"k8s-manage/adapters/rest"
	"k8s-manage/adapters/web"
	"k8s-manage/adapters/web/openapi"
	"k8s-manage/agent/identity"
	"k8s-manage/internal/config"
	"k8s-manage/internal/httpserver"
	"k8s-manage/platform/exec"
	"k8s-manage/platform/tenant"
	webui "k8s-manage/web"
)

// mountContract serves the OpenAPI document at /api/v1/openapi.json.
func mountContract(srv *httpserver.Server) error {
	contract, err := openapi.Handler()
	if err != nil {
		return err
	}
	srv.API().Get("/openapi.json", contract.ServeHTTP)
	return nil
}

// mountWeb mounts the web surface (chat, approvals, console) and the REST resources.
func (a *app) mountWeb(context.Context) error {
	cfg, p := a.cfg, a.platform
	dir := directory{a.tenants}
	wo := web.Options{Agent: a.agent, Tokens: a.tokens, Passwords: identity.NewPasswords(a.store),
		Sessions: identity.NewSessions(a.store, cfg.Web.SessionTTL.D()), Directory: dir, Assets: webui.Assets(),
		AllowedOrigins: cfg.Web.AllowedOrigins, AllowLoopbackOrigins: cfg.Cluster.ResolvedMode(false) == config.ClusterSandbox, InsecureCookies: cfg.Web.InsecureCookies, Log: a.log}
	if cfg.Web.Terminal {
		wo.Terminal = terminal{exec.NewService(a.kube)}
	}
	surface := web.New(wo)
	surface.Mount(a.http.Router(), a.http.API())
	rest.New(rest.Options{Tenants: a.tenants, Directory: dir, Tools: restTools{a.tools.ForAPI()}, Proposer: a.agent,
		Apps: p.apps, Builds: p.builds, Catalog: p.catalog, Config: p.config, Bills: p.bills, Alerts: a.alerts,
		Audit: p.approvals, Auth: surface.Auth, Log: a.log}).Mount(a.http.API())
	return nil
}

// directory lists a user's tenants for the console's switcher.
type directory struct{ tenants *tenant.Service }

func (d directory) Memberships(ctx context.Context, user string) ([]web.Membership, error) {
	roles, err := d.tenants.TenantsOf(ctx, user)
	if err != nil {
		return nil, err
	}
	out := []web.Membership{}
	for name, role := range roles {
		t, err := d.tenants.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, web.Membership{Tenant: name, Role: string(role), Envs: t.Environments})
	}
	return out, nil
}

// terminal opens /bin/sh in a container through the platform's exec, as the person.
type terminal struct{ exec *exec.Service }

type sizeQueue <-chan web.TermSize

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q
	if !ok {
		return nil
	}
	return &remotecommand.TerminalSize{Width: s.Cols, Height: s.Rows}
}

func (t terminal) Open(ctx context.Context, r web.TermRequest, stdin io.Reader, stdout io.Writer, resize <-chan web.TermSize) error {
	return t.exec.Run(ctx, tenant.Identity(r.User), tenant.Namespace(r.Tenant, r.Env), r.Pod, r.Container, []string{"/bin/sh"},
		exec.Streams{Stdin: stdin, Stdout: stdout, TTY: true, Resize: sizeQueue(resize)})
}
