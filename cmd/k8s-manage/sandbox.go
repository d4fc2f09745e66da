package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"k8s-manage/hack/sandbox"
)

func newSandboxCmd() *cobra.Command {
	var opts sandbox.Options
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local Kubernetes control plane (etcd, apiserver, controller-manager, scheduler, kwok nodes)",
		Long: "Builds (once, cached by pinned versions) and runs a real control plane on 127.0.0.1 with kwok fake nodes.\n" +
			"Run it from the repository: the binaries are built from hack/sandbox/modules.",
	}
	cmd.PersistentFlags().StringVar(&opts.WorkDir, "dir", "", "work folder (default <repo>/.sandbox)")
	cmd.PersistentFlags().IntVar(&opts.Nodes, "nodes", 3, "fake nodes to register")
	newSB := func(out io.Writer) (*sandbox.Sandbox, error) {
		o := opts
		o.Out = out
		return sandbox.New(o)
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Start the sandbox (or reuse a running one) and wait until a test Deployment runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sb, err := newSB(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			info, err := sb.Up(cmd.Context())
			if err != nil {
				return err
			}
			state := "started"
			if info.Reused {
				state = "already running"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sandbox %s in %s\nkubeconfig: %s\nkubectl:    %s/kubectl\n",
				state, info.Elapsed.Round(1e6), info.Kubeconfig, info.BinDir)
			return nil
		},
	}, &cobra.Command{
		Use:   "down",
		Short: "Stop every sandbox component and remove its files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sb, err := newSB(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return sb.Down(cmd.Context())
		},
	}, &cobra.Command{
		Use:   "status",
		Short: "Report each component, the nodes, and the kubeconfig and kubectl paths",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sb, err := newSB(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if _, err := sb.Build(cmd.Context()); err != nil {
				return err
			}
			st, err := sb.Status(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "kubeconfig: %s\nkubectl:    %s\n", st.Kubeconfig, st.Kubectl)
			if !st.Exists {
				fmt.Fprintln(out, "sandbox:    not created (k8s-manage sandbox up)")
				return exitError{code: 3}
			}
			api := "not ready"
			if st.Ready {
				api = "ready"
			}
			fmt.Fprintf(out, "apiserver:  %s\n", api)
			for _, c := range st.Components {
				state := "stopped"
				if c.Running {
					state = fmt.Sprintf("running (pid %d)", c.PID)
				}
				fmt.Fprintf(out, "  %-24s %-22s log %s\n", c.Name, state, c.Log)
			}
			for _, n := range st.Nodes {
				fmt.Fprintf(out, "  node %-19s ready=%v\n", n.Name, n.Ready)
			}
			if !st.Ready {
				return exitError{code: 3}
			}
			return nil
		},
	})
	return cmd
}
