package rest

import (
	"net/http"

	"k8s-manage/internal/toolname"
)

// ToolRoute is a route that does what a tool of the agent's catalog does: through the tool
// itself (a change waits for the same approval) or through the platform service the tool wraps.
type ToolRoute struct {
	Method, Path string
	Tool         string
}

// ToolRoutes lists the routes of the catalog's tools. A test checks that each is mounted, and the
// catalog test that every tool has one or is marked chat-only.
func ToolRoutes() []ToolRoute {
	g, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	return []ToolRoute{
		{g, "/tenants", toolname.ListTenants},
		{post, "/tenants/{tenant}/members", toolname.AddMember},
		{g, "/tenants/{tenant}/quota", toolname.GetQuota},
		{g, "/apps", toolname.ListApps},
		{post, "/apps", toolname.CreateApp},
		{g, "/apps/{app}", toolname.GetAppStatus},
		{g, "/apps/{app}", toolname.GetAppConfig},
		{put, "/apps/{app}", toolname.UpdateApp},
		{del, "/apps/{app}", toolname.DeleteApp},
		{post, "/apps/{app}/scale", toolname.ScaleApp},
		{post, "/apps/{app}/restart", toolname.RestartApp},
		{post, "/apps/{app}/rollback", toolname.RollbackApp},
		{post, "/apps/{app}/canary", toolname.StartCanary},
		{post, "/apps/{app}/canary/promote", toolname.PromoteCanary},
		{post, "/apps/{app}/canary/abort", toolname.AbortCanary},
		{post, "/apps/{app}/switch", toolname.SwitchBlueGreen},
		{g, "/apps/{app}/revisions", toolname.ListRevisions},
		{g, "/apps/{app}/pods", toolname.ListPods},
		{g, "/apps/{app}/events", toolname.GetEvents},
		{g, "/apps/{app}/logs", toolname.GetPodLogs},
		{g, "/apps/{app}/hpa", toolname.GetHPA},
		{g, "/apps/{app}/rightsize", toolname.Rightsize},
		{g, "/apps/{app}/metrics", toolname.QueryMetrics},
		{g, "/apps/{app}/vpa", toolname.GetVPA},
		{put, "/apps/{app}/vpa", toolname.SetVPA},
		{put, "/apps/{app}/hpa", toolname.SetHPA},
		{del, "/apps/{app}/hpa", toolname.DeleteHPA},
		{g, "/builds", toolname.ListBuilds},
		{post, "/builds", toolname.TriggerBuild},
		{g, "/builds/{id}", toolname.GetBuild},
		{post, "/builds/{id}/deploy", toolname.SetImage},
		{g, "/catalog/instances", toolname.ListServiceInstances},
		{post, "/catalog/instances", toolname.ProvisionService},
		{del, "/catalog/instances/{name}", toolname.DeleteServiceInstance},
		{g, "/config", toolname.GetConfig},
		{g, "/config/diff", toolname.ConfigDiff},
		{put, "/config/{key}", toolname.SetConfig},
		{post, "/environments/clone", toolname.CloneEnvironment},
		{g, "/bills", toolname.GetBill},
		{g, "/usage", toolname.Top},
	}
}
