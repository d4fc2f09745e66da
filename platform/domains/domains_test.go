package domains_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/domains"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

func selfSigned(t *testing.T, host string, notAfter time.Time) ([]byte, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func TestDomainsAndCertificates(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	ops := platformtest.Email("ops")
	name := w.Tenant(t, "dom", []tenant.Member{{Email: ops, Role: tenant.Operator}})
	tg := apps.Target{As: tenant.Identity(ops), Namespace: tenant.Namespace(name, "dev")}
	if _, err := apps.NewService(w.Kube).Create(ctx, tg, apps.Spec{Name: "shop", Image: "nginx", Replicas: 1, Ports: []apps.Port{{Port: 8080}}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := domains.NewService(w.Kube, nil)
	var pe *perr.Error
	if _, err := svc.Bind(ctx, tg, domains.Binding{App: "shop", Host: "not a host"}, apps.WriteOptions{}); !errors.As(err, &pe) || pe.Field != "host" {
		t.Fatalf("bad host: %v", err)
	}
	certPEM, keyPEM := selfSigned(t, "shop.example.com", time.Now().Add(10*24*time.Hour))
	otherCert, _ := selfSigned(t, "other.example.com", time.Now().Add(90*24*time.Hour))
	if _, err := svc.UploadCertificate(ctx, tg, "shop-cert", otherCert, keyPEM); !errors.As(err, &pe) || pe.Field != "certificate" {
		t.Fatalf("mismatched key: %v", err)
	}
	c, err := svc.UploadCertificate(ctx, tg, "shop-cert", certPEM, keyPEM)
	if err != nil || c.Status != "expiring" {
		t.Fatalf("upload: %+v %v", c, err)
	}
	if _, err := svc.Bind(ctx, tg, domains.Binding{App: "shop", Host: "shop.example.com", TLS: domains.TLS{Secret: "shop-cert"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bind(ctx, tg, domains.Binding{App: "shop", Host: "api.example.com", TLS: domains.TLS{Issuer: "letsencrypt"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ing, err := w.Env.Client.NetworkingV1().Ingresses(tg.Namespace).Get(ctx, "shop-api-example-com", metav1.GetOptions{})
	if err != nil || ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number != 8080 {
		t.Fatalf("ingress = %+v %v", ing, err)
	}
	certs, err := svc.Certificates(ctx, tg)
	if err != nil || len(certs) != 2 {
		t.Fatalf("certificates = %+v %v", certs, err)
	}
	// Most urgent first: the uploaded one expires in ~10 days; cert-manager's has not been issued (no controller here).
	got := map[string]domains.Certificate{}
	for _, c := range certs {
		got[c.Secret] = c
	}
	if c := got["shop-cert"]; c.Status != "expiring" || c.DaysLeft < 9 || c.DaysLeft > 10 {
		t.Fatalf("uploaded certificate: %+v", c)
	}
	if c := got["shop-api-example-com-tls"]; c.Status != "missing" {
		t.Fatalf("cert-manager certificate: %+v", c)
	}
}
