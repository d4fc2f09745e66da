package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"k8s-manage/agent/identity"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

func newTokenCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	var user, name string
	create := &cobra.Command{
		Use:   "create --user EMAIL [--name NAME]",
		Short: "Issue an API token for a user (printed once; only its hash is stored)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			tok, err := identity.NewTokens(st).Create(cmd.Context(), user, name)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	create.Flags().StringVar(&user, "user", "", "the user's e-mail")
	create.Flags().StringVar(&name, "name", "", "a label for the token")
	cmd.AddCommand(create)
	return cmd
}

func newUserCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage local users (console login)"}
	var user, file string
	set := &cobra.Command{
		Use:   "set-password --user EMAIL [--password-file FILE]",
		Short: "Set a local user's console password (argon2id); read from FILE or the first line of stdin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			var raw []byte
			if file != "" {
				raw, err = os.ReadFile(file)
			} else {
				raw, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
			}
			if err != nil {
				return fmt.Errorf("read the password: %w", err)
			}
			pw, _, _ := strings.Cut(string(raw), "\n")
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := identity.NewPasswords(st).Set(cmd.Context(), user, strings.TrimRight(pw, "\r")); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "password set for", strings.ToLower(user))
			return nil
		},
	}
	set.Flags().StringVar(&user, "user", "", "the user's e-mail")
	set.Flags().StringVar(&file, "password-file", "", "file holding the password (default: stdin)")
	cmd.AddCommand(set)
	return cmd
}

func newTenantCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Manage tenants (needs a cluster)"}
	var members, envs []string
	create := &cobra.Command{
		Use:   "create NAME --member EMAIL=ROLE ... [--env dev --env prod]",
		Short: "Create a tenant: namespaces, role bindings, quota, limits and network policy per environment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			spec := tenant.Spec{Name: args[0], Environments: envs}
			for i, m := range members {
				email, role, ok := strings.Cut(m, "=")
				if !ok {
					return fmt.Errorf("--member %d: use EMAIL=ROLE, e.g. alice@example.com=developer", i+1)
				}
				spec.Members = append(spec.Members, tenant.Member{Email: email, Role: tenant.Role(role)})
			}
			a, err := newApp(cmd.Context(), cfg, discardLogger())
			if err != nil {
				return err
			}
			defer a.Close()
			if a.tenants == nil {
				return errors.New("tenant create needs a cluster: set cluster.mode or cluster.kubeconfig")
			}
			_, rep, err := a.tenants.Create(cmd.Context(), spec)
			if err != nil {
				return err
			}
			for _, c := range rep.Created {
				fmt.Fprintln(cmd.OutOrStdout(), "created", c)
			}
			return nil
		},
	}
	create.Flags().StringArrayVar(&members, "member", nil, "EMAIL=ROLE (viewer, developer, operator, admin); repeatable")
	create.Flags().StringArrayVar(&envs, "env", nil, "environment (default dev, test, prod); repeatable")
	cmd.AddCommand(create)
	return cmd
}

// demo users of the sandbox, one per role.
var demoUsers = []tenant.Member{
	{Email: "admin@example.com", Role: tenant.Admin}, {Email: "ops@example.com", Role: tenant.Operator},
	{Email: "dev@example.com", Role: tenant.Developer}, {Email: "viewer@example.com", Role: tenant.Viewer},
}

// seedDemo gives a fresh sandbox something to talk about: tenant "demo" with one user per role,
// an nginx app in demo-dev, and API tokens written to data/demo-tokens.txt. It is idempotent.
func seedDemo(ctx context.Context, a *app) error {
	if _, err := a.tenants.Get(ctx, "demo"); errors.Is(err, perr.ErrNotFound) {
		// The alert identity is a viewer, so alert diagnoses can read the demo namespaces.
		members := append(slices.Clone(demoUsers), tenant.Member{Email: a.cfg.Alerts.Identity, Role: tenant.Viewer})
		if _, _, err := a.tenants.Create(ctx, tenant.Spec{Name: "demo", Environments: []string{"dev", "prod"}, Members: members}); err != nil {
			if errors.Is(err, perr.ErrAlreadyExists) {
				return fmt.Errorf("the sandbox already has demo namespaces from an earlier data/ folder: run `make sandbox-down` (or restore data/) and start again: %w", err)
			}
			return err
		}
	} else if err != nil {
		return err
	}
	_, err := apps.NewService(a.kube).Create(ctx, apps.Target{As: tenant.Identity("dev@example.com"), Namespace: "demo-dev"},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 2, Ports: []apps.Port{{Name: "http", Port: 80}}}, apps.WriteOptions{})
	if err != nil && !errors.Is(err, perr.ErrAlreadyExists) {
		return err
	}
	path := filepath.Join("data", "demo-tokens.txt")
	if _, err := os.Stat(path); err == nil {
		a.log.Info("demo tenant ready", "tenant", "demo", "tokens", path)
		return nil
	}
	var b strings.Builder
	b.WriteString("# Sandbox demo users (tenant demo): log in at / with the password, or use the API token.\n")
	pws := identity.NewPasswords(a.store)
	for _, m := range demoUsers {
		tok, err := a.tokens.Create(ctx, m.Email, "demo")
		if err != nil {
			return err
		}
		var rb [9]byte
		_, _ = rand.Read(rb[:])
		pw := "demo-" + base64.RawURLEncoding.EncodeToString(rb[:])
		if err := pws.Set(ctx, m.Email, pw); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%-20s %-10s password %s  token %s\n", m.Email, m.Role, pw, tok)
	}
	if err := os.MkdirAll("data", 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return err
	}
	a.log.Info("demo tenant ready", "tenant", "demo", "tokens", path)
	return nil
}
