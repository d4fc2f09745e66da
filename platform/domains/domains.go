// Package domains binds hosts to apps (Ingress) with TLS from cert-manager or an uploaded
// certificate, and reports certificate expiry.
package domains

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
)

// Service manages domains.
type Service struct {
	kube *kube.Clients
	now  func() time.Time
}

// NewService builds a Service.
func NewService(clients *kube.Clients, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{kube: clients, now: now}
}

// TLS chooses where a domain's certificate comes from.
type TLS struct {
	// Issuer names a cert-manager ClusterIssuer that issues and renews the certificate.
	Issuer string `json:"issuer,omitempty"`
	// Secret names an uploaded kubernetes.io/tls Secret (see UploadCertificate).
	Secret string `json:"secret,omitempty"`
}

// Binding is a host served by an app.
type Binding struct {
	App  string `json:"app"`
	Host string `json:"host"`
	Path string `json:"path,omitempty"`
	TLS  TLS    `json:"tls"`
}

var hostRe = regexp.MustCompile(`^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$`)

func ingressName(app, host string) string {
	n := app + "-" + strings.NewReplacer(".", "-", "*", "wildcard").Replace(host)
	if len(n) > 63 {
		n = n[:63]
	}
	return strings.TrimRight(n, "-")
}

// Bind serves host (and path) with the app's Service, creating or updating its Ingress.
func (s *Service) Bind(ctx context.Context, t apps.Target, b Binding, o apps.WriteOptions) (*apps.Change, error) {
	if err := apps.ValidateName(b.App); err != nil {
		return nil, err
	}
	if !hostRe.MatchString(b.Host) {
		return nil, perr.Invalidf("host", "%q is not a host name", b.Host)
	}
	if b.Path == "" {
		b.Path = "/"
	}
	if b.TLS.Issuer != "" && b.TLS.Secret != "" {
		return nil, perr.Invalidf("tls", "give an issuer or an uploaded secret, not both")
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	svc, err := cs.CoreV1().Services(ns).Get(ctx, b.App, metav1.GetOptions{})
	if err != nil {
		return nil, perr.FromAPI(err, "service of app "+b.App)
	}
	if len(svc.Spec.Ports) == 0 {
		return nil, perr.New(perr.Invalid, "app %s exposes no port", b.App)
	}
	pt := networkingv1.PathTypePrefix
	name := ingressName(b.App, b.Host)
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{apps.LabelApp: b.App, apps.LabelManagedBy: apps.ManagedBy}, Annotations: map[string]string{}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: b.Host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: b.Path, PathType: &pt, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: b.App, Port: networkingv1.ServiceBackendPort{Number: svc.Spec.Ports[0].Port}}}}}}}}}},
	}
	switch {
	case b.TLS.Issuer != "":
		ing.Annotations["cert-manager.io/cluster-issuer"] = b.TLS.Issuer
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{b.Host}, SecretName: name + "-tls"}}
	case b.TLS.Secret != "":
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{b.Host}, SecretName: b.TLS.Secret}}
	}
	var dry []string
	if o.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	action := "create"
	live, err := cs.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = cs.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{DryRun: dry})
	case err == nil:
		action = "update"
		live.Spec, live.Annotations = ing.Spec, ing.Annotations
		_, err = cs.NetworkingV1().Ingresses(ns).Update(ctx, live, metav1.UpdateOptions{DryRun: dry})
	}
	if err != nil {
		return nil, perr.FromAPI(err, "bind "+b.Host+" to "+b.App)
	}
	tlsNote := "no TLS"
	if len(ing.Spec.TLS) > 0 {
		tlsNote = "TLS secret " + ing.Spec.TLS[0].SecretName
	}
	return &apps.Change{DryRun: o.DryRun, Summary: fmt.Sprintf("serve %s%s with %s/%s (%s)", b.Host, b.Path, ns, b.App, tlsNote),
		Objects: []apps.ObjectChange{{Kind: "Ingress", Name: ns + "/" + name, Action: action}}}, nil
}

// UploadCertificate stores a PEM certificate chain and key as a kubernetes.io/tls Secret after
// checking that they parse, match and have not expired.
func (s *Service) UploadCertificate(ctx context.Context, t apps.Target, name string, certPEM, keyPEM []byte) (*Certificate, error) {
	if err := apps.ValidateName(name); err != nil {
		return nil, err
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, perr.Invalidf("certificate", "certificate and key do not form a pair: %v", err)
	}
	c, err := parse(certPEM)
	if err != nil {
		return nil, perr.Invalidf("certificate", "%v", err)
	}
	if s.now().After(c.NotAfter) {
		return nil, perr.Invalidf("certificate", "expired on %s", c.NotAfter.UTC().Format(time.DateOnly))
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{apps.LabelManagedBy: apps.ManagedBy}},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}}
	if _, err := cs.CoreV1().Secrets(t.Namespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		return nil, perr.FromAPI(err, "upload certificate "+t.Namespace+"/"+name)
	}
	return s.describe(name, c, nil), nil
}

func parse(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("no PEM certificate found")
	}
	return x509.ParseCertificate(block.Bytes)
}

// Certificate is a certificate's expiry report.
type Certificate struct {
	Secret   string    `json:"secret"`
	Hosts    []string  `json:"hosts"`
	NotAfter time.Time `json:"not_after,omitzero"`
	DaysLeft int       `json:"days_left"`
	Status   string    `json:"status"` // valid, expiring (under 30 days), expired, missing
	Issuer   string    `json:"issuer,omitempty"`
}

func (s *Service) describe(secret string, c *x509.Certificate, hosts []string) *Certificate {
	out := &Certificate{Secret: secret, Hosts: hosts, NotAfter: c.NotAfter, Issuer: c.Issuer.CommonName}
	if len(out.Hosts) == 0 {
		out.Hosts = c.DNSNames
	}
	left := c.NotAfter.Sub(s.now())
	out.DaysLeft = int(left.Hours() / 24)
	switch {
	case left <= 0:
		out.Status = "expired"
	case left < 30*24*time.Hour:
		out.Status = "expiring"
	default:
		out.Status = "valid"
	}
	return out
}

// Certificates reports the expiry of every TLS certificate the namespace's ingresses use. Only
// the public certificate is used. The Secret is read as the caller (the service account may not
// read Secrets): a role that cannot read it sees the certificate as unreadable.
func (s *Service) Certificates(ctx context.Context, t apps.Target) ([]Certificate, error) {
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	ings, err := cs.NetworkingV1().Ingresses(t.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, perr.FromAPI(err, "list ingresses of "+t.Namespace)
	}
	return s.certificates(ctx, cs, t.Namespace, ings.Items), nil
}

func (s *Service) certificates(ctx context.Context, cs kubernetes.Interface, ns string, ings []networkingv1.Ingress) []Certificate {
	seen := map[string]bool{}
	var out []Certificate
	for _, ing := range ings {
		for _, tl := range ing.Spec.TLS {
			if tl.SecretName == "" || seen[tl.SecretName] {
				continue
			}
			seen[tl.SecretName] = true
			sec, err := cs.CoreV1().Secrets(ns).Get(ctx, tl.SecretName, metav1.GetOptions{})
			if err != nil {
				out = append(out, Certificate{Secret: tl.SecretName, Hosts: tl.Hosts, Status: "missing"})
				continue
			}
			c, err := parse(sec.Data[corev1.TLSCertKey])
			if err != nil {
				out = append(out, Certificate{Secret: tl.SecretName, Hosts: tl.Hosts, Status: "missing"})
				continue
			}
			out = append(out, *s.describe(tl.SecretName, c, tl.Hosts))
		}
	}
	slices.SortFunc(out, func(a, b Certificate) int { return a.DaysLeft - b.DaysLeft })
	return out
}
