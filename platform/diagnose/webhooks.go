package diagnose

import (
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

// webhooks: admission webhooks whose service does not exist, which block the writes they intercept.
func (a *analysis) webhooks() {
	if a.scoped() {
		return // cluster-wide admission: reported in the namespace's diagnosis
	}
	check := func(kind, name string, cfg []admissionregistrationv1.WebhookClientConfig, policies []*admissionregistrationv1.FailurePolicyType) {
		for i, c := range cfg {
			if c.Service == nil || a.s.ServiceExists == nil || a.s.ServiceExists(c.Service.Namespace, c.Service.Name) {
				continue
			}
			sev, effect := Warning, "ignored on failure"
			if policies[i] == nil || *policies[i] == admissionregistrationv1.Fail {
				sev, effect = Critical, "writes it intercepts are refused"
			}
			a.add(Finding{Severity: sev, Resource: kind + "/" + name, Reason: fmt.Sprintf("admission webhook service %s/%s does not exist: %s", c.Service.Namespace, c.Service.Name, effect),
				Suggestion: "the platform team restores the webhook's service or removes the configuration"})
		}
	}
	for _, v := range a.s.ValidatingWebhooks {
		var cfg []admissionregistrationv1.WebhookClientConfig
		var pol []*admissionregistrationv1.FailurePolicyType
		for _, w := range v.Webhooks {
			cfg, pol = append(cfg, w.ClientConfig), append(pol, w.FailurePolicy)
		}
		check("validatingwebhookconfiguration", v.Name, cfg, pol)
	}
	for _, m := range a.s.MutatingWebhooks {
		var cfg []admissionregistrationv1.WebhookClientConfig
		var pol []*admissionregistrationv1.FailurePolicyType
		for _, w := range m.Webhooks {
			cfg, pol = append(cfg, w.ClientConfig), append(pol, w.FailurePolicy)
		}
		check("mutatingwebhookconfiguration", m.Name, cfg, pol)
	}
}
