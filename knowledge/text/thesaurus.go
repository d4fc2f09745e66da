package text

import "strings"

// concepts maps a concept to the Chinese and English terms that name it in operations talk.
// Tokenizers add the concept as an extra token ("§scale") wherever one of its terms occurs, so a
// question in one language or wording matches documents written in another. Terms are matched
// on normalized (lower-case, half-width) text.
//
// Only general synonyms belong here: words a person writes for the concept in operations talk
// anywhere (the Kubernetes term, its usual Chinese and English renderings, common colloquial
// forms), never a phrase taken from one eval question. A term that appears in no document is
// kept only if it is such a general synonym; "switch back" and "一直进行中" were removed for
// being phrases of single eval questions. The retrieval eval is split into a dev half
// (evals/datasets/retrieval.jsonl) to tune on and a held-out half (evals/heldout) reported once.
var concepts = map[string][]string{
	"scale":         {"扩容", "缩容", "扩缩容", "副本数", "副本", "replicas", "replica", "scale", "scaling", "扩到", "缩到", "实例数"},
	"autoscale":     {"hpa", "自动扩缩", "自动伸缩", "弹性伸缩", "autoscal", "horizontalpodautoscaler", "自动扩容"},
	"rollback":      {"回滚", "回退", "rollback", "roll back", "undo", "上一个版本", "旧版本", "revert"},
	"restart":       {"重启", "restart", "rollout restart", "滚动重启"},
	"canary":        {"金丝雀", "灰度", "canary", "渐进发布"},
	"bluegreen":     {"蓝绿", "blue-green", "blue green", "bluegreen", "切流"},
	"deploy":        {"部署", "发布", "上线", "deploy", "release", "rollout", "新版本"},
	"image":         {"镜像", "image", "tag", "镜像仓库", "registry", "harbor"},
	"crash":         {"crashloopbackoff", "崩溃", "crash", "反复重启", "一直重启", "不停重启", "restarting"},
	"oom":           {"oomkilled", "oom", "内存溢出", "内存不足", "137", "out of memory", "被杀"},
	"memory":        {"内存", "memory", "mem", "mi", "gi"},
	"cpu":           {"cpu", "核", "millicore", "处理器"},
	"pull":          {"imagepullbackoff", "errimagepull", "拉取镜像", "拉镜像", "pull", "镜像拉取"},
	"credential":    {"凭证", "凭据", "密码", "credential", "imagepullsecret", "pull secret", "robot account", "机器人账号", "token"},
	"pending":       {"pending", "调度不上", "无法调度", "unschedulable", "failedscheduling", "一直等待", "排队"},
	"node":          {"节点", "node", "nodes", "宿主机", "机器"},
	"probe":         {"探针", "probe", "liveness", "readiness", "健康检查", "存活", "就绪"},
	"endpoint":      {"endpoints", "endpoint", "端点", "endpointslice", "没有后端", "selector", "选择器"},
	"service":       {"service", "服务", "svc", "clusterip"},
	"ingress":       {"ingress", "入口", "网关", "502", "503", "504", "bad gateway", "gateway timeout"},
	"domain":        {"域名", "domain", "host", "hostname", "dns 记录", "绑定域名"},
	"tls":           {"证书", "tls", "https", "ssl", "certificate", "cert-manager", "过期", "续期", "renew", "expire"},
	"dns":           {"dns", "域名解析", "coredns", "解析失败", "nslookup", "resolve"},
	"config":        {"配置", "configmap", "config", "配置中心", "环境变量", "env", "热更新", "hot reload", "reload"},
	"secret":        {"secret", "密钥", "敏感", "加密", "encrypt", "明文", "reveal"},
	"quota":         {"配额", "quota", "resourcequota", "exceeded quota", "超出配额", "额度", "上限"},
	"limitrange":    {"limitrange", "默认资源", "默认 request", "默认 limit", "default request", "默认限制"},
	"member":        {"成员", "member", "用户", "团队成员", "邀请", "invite", "加人"},
	"permission":    {"权限", "permission", "forbidden", "403", "rbac", "角色", "role", "无权", "没有权限", "access denied"},
	"environment":   {"环境", "environment", "dev", "test", "prod", "生产", "测试环境", "开发环境"},
	"clone":         {"克隆", "复制环境", "clone", "copy environment", "同步环境"},
	"catalog":       {"服务目录", "catalog", "中间件", "redis", "mysql", "postgresql", "kafka", "数据库实例", "service instance"},
	"billing":       {"账单", "计费", "费用", "花费", "billing", "bill", "cost", "spend", "invoice", "价格"},
	"build":         {"构建", "build", "编译", "kaniko", "buildpacks", "dockerfile", "流水线", "pipeline", "ci"},
	"webhook":       {"webhook", "钩子", "推送触发", "push", "github", "gitlab", "gitea", "触发"},
	"logs":          {"日志", "log", "logs", "previous", "上一个容器", "stdout", "输出"},
	"terminal":      {"终端", "terminal", "exec", "shell", "web terminal", "进入容器", "ssh"},
	"monitor":       {"监控", "monitor", "metrics", "指标", "grafana", "prometheus", "使用率", "usage", "top"},
	"alert":         {"告警", "报警", "alert", "alertmanager", "通知", "notify", "钉钉", "dingtalk", "slack", "邮件", "email"},
	"approval":      {"审批", "approval", "approve", "批准", "同意", "拒绝", "reject", "确认"},
	"bot":           {"机器人", "bot", "chatops", "命令", "command", "助手", "assistant", "@"},
	"notready":      {"notready", "not ready", "失联", "节点故障", "diskpressure", "memorypressure", "pidpressure", "压力"},
	"pvc":           {"pvc", "persistentvolumeclaim", "存储", "storage", "磁盘", "volume", "卷", "storageclass", "存储类", "扩容磁盘"},
	"networkpolicy": {"networkpolicy", "网络策略", "网络隔离", "连不上", "不通", "访问不了", "隔离"},
	"job":           {"cronjob", "job", "定时任务", "任务", "批处理", "backofflimit"},
	"stuck":         {"卡住", "stuck", "progressdeadlineexceeded", "超时", "没有完成", "hang"},
	"exitcode":      {"exit code", "退出码", "exitcode", "exit 1", "返回码"},
	"tenant":        {"租户", "tenant", "团队", "team", "项目", "namespace", "命名空间"},
}

var termIndex = func() map[string][]string {
	idx := map[string][]string{}
	for c, terms := range concepts {
		for _, t := range terms {
			idx[t] = append(idx[t], c)
		}
	}
	return idx
}()

// Concepts returns "§concept" tokens for every thesaurus term found in s.
func Concepts(s string) []string {
	n := Normalize(s)
	seen := map[string]bool{}
	var out []string
	for term, cs := range termIndex {
		if !containsTerm(n, term) {
			continue
		}
		for _, c := range cs {
			if !seen[c] {
				seen[c] = true
				out = append(out, "§"+c)
			}
		}
	}
	return out
}

// containsTerm matches ASCII terms on word starts (so "tag" does not match "stage") and CJK
// terms anywhere.
func containsTerm(s, term string) bool {
	if term == "" {
		return false
	}
	if term[0] >= 0x80 {
		return strings.Contains(s, term)
	}
	for i := 0; ; {
		j := strings.Index(s[i:], term)
		if j < 0 {
			return false
		}
		at := i + j
		if at == 0 || !isWordByte(s[at-1]) {
			return true
		}
		i = at + 1
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
}
