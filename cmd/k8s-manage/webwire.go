package main

import (
	"context"
	"io"

	"k8s.io/client-go/tools/remotecommand"

	"k8s-manage/adapters/web"
	"k8s-manage/platform/exec"
	"k8s-manage/platform/tenant"
)

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
