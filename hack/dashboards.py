#!/usr/bin/env python3
"""Writes the Grafana dashboards under deploy/helm/k8s-manage/dashboards (the chart ships them as
a ConfigMap for Grafana's sidecar). Edit here, run `python3 hack/dashboards.py`, commit both;
cmd/k8s-manage's TestDashboardQueriesRunOnPrometheus runs every query against a real Prometheus."""
import json, os

OUT = os.path.join(os.path.dirname(__file__), "..", "deploy", "helm", "k8s-manage", "dashboards")

def ds():
    return {"type": "prometheus", "uid": "${datasource}"}

def panel(i, title, unit, targets, x, y, w=12, h=8, kind="timeseries"):
    return {"id": i, "type": kind, "title": title, "datasource": ds(),
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
            "targets": [{"refId": chr(65 + n), "datasource": ds(), "expr": e, "legendFormat": l} for n, (e, l) in enumerate(targets)]}

def dashboard(uid, title, panels, variables):
    return {"uid": uid, "title": title, "tags": ["k8s-manage"], "timezone": "browser", "schemaVersion": 39,
            "version": 1, "editable": True, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": [{"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                                     "current": {}, "hide": 0}] + variables},
            "annotations": {"list": []}, "panels": panels}

service = dashboard("k8s-manage-service", "k8s-manage: the service", [
    panel(1, "Chat turns", "ops", [("sum(rate(k8sm_agent_turns_total[$__rate_interval]))", "turns/s")], 0, 0),
    panel(2, "Tool calls by tool and outcome", "ops",
          [("sum by (tool, outcome) (rate(k8sm_agent_tool_calls_total[$__rate_interval]))", "{{tool}} {{outcome}}")], 12, 0),
    panel(3, "Approvals by outcome", "ops",
          [("sum by (outcome) (rate(k8sm_agent_approvals_total[$__rate_interval]))", "{{outcome}}")], 0, 8),
    panel(4, "Approvals waiting", "short", [("max(k8sm_approvals_pending)", "pending")], 12, 8),
    panel(5, "Alerts worked off by state", "ops",
          [("sum by (state) (rate(k8sm_alerts_handled_total[$__rate_interval]))", "{{state}}")], 0, 16),
    panel(6, "Oldest alert in the queue", "s", [("max(k8sm_alert_queue_oldest_seconds)", "oldest")], 12, 16),
    panel(7, "Model latency (p50, p95)", "s", [
        ("histogram_quantile(0.5, sum by (le) (rate(k8sm_agent_model_latency_seconds_bucket[$__rate_interval])))", "p50"),
        ("histogram_quantile(0.95, sum by (le) (rate(k8sm_agent_model_latency_seconds_bucket[$__rate_interval])))", "p95")], 0, 24),
    panel(8, "Model tokens by kind", "short",
          [("sum by (kind) (rate(k8sm_agent_model_tokens_total[$__rate_interval]))", "{{kind}}/s")], 12, 24),
    panel(9, "HTTP requests by route and code", "reqps",
          [("sum by (route, code) (rate(k8sm_http_requests_total[$__rate_interval]))", "{{route}} {{code}}")], 0, 32),
    panel(10, "HTTP p95 latency by route", "s",
          [("histogram_quantile(0.95, sum by (le, route) (rate(k8sm_http_request_duration_seconds_bucket[$__rate_interval])))", "{{route}}")], 12, 32),
], [])

sel = 'namespace="$namespace", pod=~"$app-[a-z0-9]+-[a-z0-9]+|$app-[0-9]+"'
apps = dashboard("k8s-manage-tenant-apps", "k8s-manage: tenant apps", [
    panel(1, "CPU by pod", "cores",
          [('sum by (pod) (rate(container_cpu_usage_seconds_total{%s, container!="", container!="POD"}[$__rate_interval]))' % sel, "{{pod}}")], 0, 0),
    panel(2, "Memory (working set) by pod", "bytes",
          [('sum by (pod) (container_memory_working_set_bytes{%s, container!="", container!="POD"})' % sel, "{{pod}}")], 12, 0),
    panel(3, "Network IO", "Bps", [
        ('sum(rate(container_network_receive_bytes_total{%s}[$__rate_interval]))' % sel, "received"),
        ('sum(rate(container_network_transmit_bytes_total{%s}[$__rate_interval]))' % sel, "sent")], 0, 8),
    panel(4, "Restarts per minute", "short",
          [('sum by (pod) (rate(kube_pod_container_status_restarts_total{%s}[$__rate_interval])) * 60' % sel, "{{pod}}")], 12, 8),
    panel(5, "Request rate by code", "reqps",
          [('sum by (code) (rate(http_requests_total{%s}[$__rate_interval]))' % sel, "{{code}}")], 0, 16),
    panel(6, "5xx ratio", "percentunit",
          [('(sum(rate(http_requests_total{%s, code=~"5.."}[$__rate_interval])) or vector(0)) / sum(rate(http_requests_total{%s}[$__rate_interval]))' % (sel, sel), "5xx")], 12, 16),
    panel(7, "p95 latency", "s",
          [('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{%s}[$__rate_interval])))' % sel, "p95")], 0, 24),
], [
    {"name": "namespace", "label": "Namespace (tenant-env)", "type": "query", "datasource": ds(),
     "query": {"query": "label_values(container_memory_working_set_bytes, namespace)", "refId": "ns"},
     "definition": "label_values(container_memory_working_set_bytes, namespace)", "refresh": 2, "current": {}, "hide": 0},
    {"name": "app", "label": "App", "type": "query", "datasource": ds(),
     "query": {"query": 'label_values(container_memory_working_set_bytes{namespace="$namespace"}, pod)', "refId": "app"},
     "definition": 'label_values(container_memory_working_set_bytes{namespace="$namespace"}, pod)',
     "regex": "/^(.+?)-(?:[a-z0-9]+-[a-z0-9]+|[0-9]+)$/", "refresh": 2, "current": {}, "hide": 0},
])

for name, d in [("k8s-manage-service.json", service), ("k8s-manage-tenant-apps.json", apps)]:
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(d, f, indent=2, ensure_ascii=False)
        f.write("\n")
