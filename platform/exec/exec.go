// Package exec runs commands in containers through the API server (pods/exec), impersonating the
// person, so only roles with the pods/exec right (operator and up) can open a terminal. It backs
// the web terminal: an interactive stream with a TTY and resize events.
package exec

import (
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
)

// Service runs exec sessions.
type Service struct{ kube *kube.Clients }

// NewService builds a Service.
func NewService(clients *kube.Clients) *Service { return &Service{kube: clients} }

// Streams are a session's input and output.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer // unused with a TTY
	TTY    bool
	// Resize delivers terminal size changes (TTY only).
	Resize remotecommand.TerminalSizeQueue
}

// Run executes command in a container as the person and streams until it exits or ctx ends.
func (s *Service) Run(ctx context.Context, as kube.Identity, ns, pod, container string, command []string, st Streams) error {
	if len(command) == 0 {
		return perr.Invalidf("command", "is required")
	}
	cfg, err := s.kube.RESTConfigAs(as)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	p, err := cs.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return perr.FromAPI(err, "exec into "+ns+"/"+pod)
	}
	if container == "" && len(p.Spec.Containers) > 0 {
		container = p.Spec.Containers[0].Name
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdin: st.Stdin != nil, Stdout: st.Stdout != nil,
			Stderr: st.Stderr != nil && !st.TTY, TTY: st.TTY}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return fmt.Errorf("exec into %s/%s: %w", ns, pod, err)
	}
	opts := remotecommand.StreamOptions{Stdin: st.Stdin, Stdout: st.Stdout, Tty: st.TTY, TerminalSizeQueue: st.Resize}
	if !st.TTY {
		opts.Stderr = st.Stderr
	}
	if err := ex.StreamWithContext(ctx, opts); err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "forbidden") {
			return perr.New(perr.Forbidden, "exec into %s/%s: forbidden: opening a terminal needs the operator role", ns, pod)
		}
		return fmt.Errorf("exec into %s/%s: %w", ns, pod, err)
	}
	return nil
}
