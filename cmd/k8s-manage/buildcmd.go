package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"k8s-manage/platform/build"
)

func newBuildCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "build", Short: "Builds"}
	var src build.Source
	var branches, secretFile string
	register := &cobra.Command{
		Use:   "register --tenant T --env E --app A --repo URL [--branches main,release/*] [--builder kaniko|buildpacks] --secret-file F",
		Short: "Register where an app's code lives; pushes to matching branches build it (POST /api/v1/webhooks/git/{github|gitlab|gitea})",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if secretFile == "" {
				return errors.New("--secret-file is required: the webhook secret the repository signs deliveries with")
			}
			secret, err := os.ReadFile(secretFile)
			if err != nil {
				return fmt.Errorf("--secret-file: %w", err)
			}
			src.WebhookSecret = strings.TrimSpace(string(secret))
			if branches != "" {
				src.Branches = strings.Split(branches, ",")
			}
			keys, err := keyring(cfg.ConfigCenter, discardLogger())
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := build.NewService(st, nil, keys, build.Registry{}, nil).Register(cmd.Context(), src); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered %s/%s/%s <- %s (branches %s)\n", src.Tenant, src.Env, src.App, src.RepoURL, strings.Join(src.Branches, ","))
			return nil
		},
	}
	f := register.Flags()
	f.StringVar(&src.Tenant, "tenant", "", "tenant")
	f.StringVar(&src.Env, "env", "dev", "environment")
	f.StringVar(&src.App, "app", "", "app")
	f.StringVar(&src.RepoURL, "repo", "", "https git URL of the repository")
	f.StringVar(&branches, "branches", "main", "comma-separated branch patterns that build")
	f.StringVar(&src.Builder, "builder", "kaniko", "kaniko (Dockerfile) or buildpacks")
	f.StringVar(&src.Dockerfile, "dockerfile", "Dockerfile", "Dockerfile path (kaniko)")
	f.StringVar(&secretFile, "secret-file", "", "file holding the webhook secret")
	cmd.AddCommand(register)
	return cmd
}
