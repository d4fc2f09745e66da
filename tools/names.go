package tools

// Names of the tools other code refers to (a diagnosis' suggested actions map onto them):
// defined once, so a rename cannot leave a stale string behind.
const (
	ToolRollbackApp = "rollback_app"
	ToolGetPodLogs  = "get_pod_logs"
	ToolGetQuota    = "get_quota"
	ToolSetHPA      = "set_hpa"
	ToolSetConfig   = "set_config"
)
