package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"k8s-manage/internal/config"
)

func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a configuration file and print every problem with its key",
		Long: "Validates the file given as argument (or --config) together with K8SM_* environment overrides.\n" +
			"Prints every problem, one per line as KEY: MESSAGE, and exits 1 when there is any.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				g.configPath = args[0]
			}
			cfg, err := g.load()
			var ps config.Problems
			switch {
			case errors.As(err, &ps):
				for _, p := range ps {
					fmt.Fprintln(cmd.ErrOrStderr(), p.String())
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%d problem(s) found\n", len(ps))
				return exitError{code: 1}
			case err != nil:
				return err
			}
			src := g.configPath
			if src == "" {
				src = "(defaults and environment)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (http %s, store %s)\n", src, cfg.HTTP.Addr(), storeKind(cfg.Store.DSN))
			return nil
		},
	})
	return cmd
}

// storeKind names the store engine without printing the DSN, which may hold a password.
func storeKind(dsn string) string {
	for _, p := range []string{"sqlite", "postgres"} {
		if len(dsn) >= len(p) && dsn[:len(p)] == p {
			return p
		}
	}
	return "unknown"
}
