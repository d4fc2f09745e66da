// Command k8s-manage is the ChatOps agent service for a Kubernetes PaaS. main only parses
// flags and configuration and wires the parts together explicitly; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"k8s-manage/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries a specific exit code (e.g. config check's 1 after printing problems itself).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// globalFlags are the flags every subcommand shares.
type globalFlags struct {
	configPath string
}

func (g *globalFlags) load() (config.Config, error) {
	return config.Load(config.LoadOptions{Path: g.configPath})
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "k8s-manage",
		Short:         "ChatOps AI agent for a Kubernetes PaaS",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&g.configPath, "config", "c", os.Getenv("K8SM_CONFIG"),
		"configuration file (YAML); default: built-in defaults plus K8SM_* environment variables (env K8SM_CONFIG)")
	root.AddCommand(newServeCmd(g), newVersionCmd(), newConfigCmd(g), newSandboxCmd(), newIngestCmd(g), newKnowledgeCmd(g), newTokenCmd(g), newUserCmd(g), newTenantCmd(g), newChatCmd(), newSecretsCmd(g), newBuildCmd(g), newEvalCmd(g))
	return root
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
