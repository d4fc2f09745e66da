// Package alertmanager receives Prometheus Alertmanager webhooks (payload version 4), keeps every
// alert in a durable queue in the store before answering, and works the queue off: a firing
// alert is mapped to its tenant and app, diagnosed by the agent with read-only tools as the
// configured alert identity, and posted with the evidence and the suggested fixes to the routed
// chat channels, one thread per alert group; a resolved alert updates the thread.
package alertmanager

import (
	"fmt"
	"strings"
	"time"
)

// Webhook is Alertmanager's notification body (version 4). A local struct: importing
// prometheus/alertmanager would pull a grpc far newer than the Milvus SDK pins.
type Webhook struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// FieldError names the invalid field of a payload.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldName is the field at fault.
func (e *FieldError) FieldName() string { return e.Field }

// Validate checks what the queue relies on and names the first bad field.
func (w *Webhook) Validate() error {
	if w.Version != "" && w.Version != "4" {
		return &FieldError{"version", fmt.Sprintf("unsupported payload version %q (want 4)", w.Version)}
	}
	if strings.TrimSpace(w.GroupKey) == "" {
		return &FieldError{"groupKey", "is required"}
	}
	for i, a := range w.Alerts {
		switch a.Status {
		case "firing", "resolved":
		default:
			return &FieldError{fmt.Sprintf("alerts[%d].status", i), fmt.Sprintf("must be firing or resolved, got %q", a.Status)}
		}
		if a.Fingerprint == "" {
			return &FieldError{fmt.Sprintf("alerts[%d].fingerprint", i), "is required"}
		}
		if a.StartsAt.IsZero() {
			return &FieldError{fmt.Sprintf("alerts[%d].startsAt", i), "is required"}
		}
	}
	return nil
}

// dedupeKey identifies an alert state across redeliveries, repeat intervals and HA pairs.
func dedupeKey(a Alert) string {
	return a.Fingerprint + "|" + a.StartsAt.UTC().Format(time.RFC3339Nano) + "|" + a.Status
}
