package alertmanager_test

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s-manage/adapters/alertmanager"
)

// Any body either fails to decode, fails validation with a named field, or yields alerts
// whose dedupe keys can be built: nothing panics.
func FuzzWebhookPayload(f *testing.F) {
	f.Add(string(payload("g", "firing", alert("fp", "firing", map[string]string{"namespace": "a-dev"}))))
	f.Add(`{"version":"4","groupKey":"g","alerts":[{"status":"resolved","fingerprint":"x","startsAt":"2026-01-01T00:00:00Z"}]}`)
	f.Add(`{"alerts":[{}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var w alertmanager.Webhook
		if json.NewDecoder(strings.NewReader(body)).Decode(&w) != nil {
			return
		}
		if err := w.Validate(); err != nil {
			var fe *alertmanager.FieldError
			if !strings.Contains(err.Error(), ":") || !asField(err, &fe) {
				t.Fatalf("validation error without a field: %v", err)
			}
		}
	})
}

func asField(err error, fe **alertmanager.FieldError) bool {
	e, ok := err.(*alertmanager.FieldError)
	*fe = e
	return ok && e.Field != ""
}
