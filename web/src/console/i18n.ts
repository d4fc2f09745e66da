// UI text in English and Chinese. The language is the one chosen in the header, else the
// browser's (zh* → Chinese). Keys are the English text; a missing translation shows the key.
const zh: Record<string, string> = {
  "Chat": "对话", "Apps": "应用", "Builds": "构建", "Service catalog": "服务目录", "Config center": "配置中心", "Bills": "账单",
  "Alerts": "告警", "Approvals": "审批", "History": "历史", "Tenants": "租户", "Audit log": "审计日志", "Terminal": "Terminal",
  "Log out": "退出", "Log in": "登录", "Language": "语言",
  "New": "新建", "New app": "新建应用", "Name": "名称", "Image": "镜像", "Replicas": "副本数", "Health": "健康", "Ready": "就绪",
  "Last deploy": "最近发布", "Rollout": "发布中", "Strategy": "发布策略", "Search apps": "搜索应用", "Load more": "加载更多",
  "No apps yet.": "还没有应用。", "Loading…": "加载中…",
  "Overview": "概览", "Pods": "Pod", "Logs": "日志", "Revisions": "版本", "Settings": "设置", "Autoscaling": "自动伸缩",
  "Monitoring": "监控", "Domains": "域名",
  "Diagnose": "诊断", "Restart": "重启", "Delete app": "删除应用", "Recent events": "最近事件", "Conditions": "状况", "Problems": "问题",
  "Environment variables": "环境变量", "Ports": "端口", "Command": "启动命令", "Arguments": "参数", "Resources": "资源",
  "CPU request": "CPU 请求", "Memory request": "内存请求", "CPU limit": "CPU 上限", "Memory limit": "内存上限",
  "Readiness probe path": "就绪探针路径", "Probe port": "探针端口", "Add variable": "添加变量", "Add port": "添加端口",
  "key": "键", "value": "值", "port": "端口", "remove": "移除",
  "Preview the change": "预览变更", "Submit for approval": "提交审批", "Cancel": "取消", "Save": "保存",
  "Dry-run diff": "dry-run 差异", "Waiting for approval": "等待审批", "Done": "已完成", "Approval request": "审批单",
  "Rollback to this revision": "回滚到此版本", "current": "当前", "revision": "版本", "cause": "原因", "created": "创建时间",
  "pod": "Pod", "phase": "阶段", "restarts": "重启次数", "node": "节点", "reason": "原因", "open logs": "查看日志", "open terminal": "打开终端",
  "Follow": "跟随", "Filter lines": "过滤", "Lines": "行数", "Previous container": "上一个容器", "Start": "开始", "Stop": "停止",
  "Min replicas": "最小副本", "Max replicas": "最大副本", "CPU target %": "CPU 目标 %", "Remove autoscaler": "删除自动伸缩",
  "No autoscaler.": "没有自动伸缩。", "Canary image": "金丝雀镜像", "Canary weight %": "金丝雀权重 %", "Start canary": "开始金丝雀",
  "Promote": "全量", "Abort": "中止", "Switch slot": "切换蓝绿", "Replicas & restarts per pod, with requests and limits.": "每个 Pod 的副本、重启与 requests/limits。",
  "Status": "状态", "Commit": "Commit", "Author": "作者", "Ref": "分支/标签", "Deploy": "部署", "Trigger a build": "触发构建",
  "App": "应用", "No builds yet.": "还没有构建。", "Build log": "构建日志", "Sources": "代码源",
  "Plan": "规格", "Provision": "开通", "Instances": "实例", "Connection": "连接信息", "Credentials": "凭据", "Instance name": "实例名",
  "Keys": "配置项", "Versions": "版本", "Diff since": "对比自", "Show diff": "查看差异", "Set a value": "设置值", "Secret": "密钥",
  "masked": "已隐藏", "Reveal": "显示", "Period": "账期", "Per resource": "按资源", "Per app": "按应用", "Download CSV": "下载 CSV",
  "Total": "合计", "No charges in this period.": "本期没有费用。",
  "Diagnosis": "诊断", "Proposed fix": "建议修复", "Propose fix": "Propose fix", "Thread": "讨论线程", "No alerts.": "没有告警。",
  "Members": "成员", "Add": "添加", "Role": "角色", "Quota": "配额", "used": "已用", "E-mail": "邮箱",
  "Environments": "环境", "Clone": "克隆", "From environment": "源环境", "To environment": "目标环境",
  "Domain (host)": "域名 (host)", "No domain: set one when the app is created (New app → Domain).": "没有域名：在创建应用时设置 (新建应用 → 域名)。",
  "is required": "必填", "must be a number": "必须是数字",
  "Ask how to do something, why an app is failing, or for a change (it waits for an approval).": "问怎么做、为什么出错，或提出变更 (变更需要审批)。",
  "Send": "发送", "Approve": "同意", "Reject": "拒绝",
};

export type Lang = "en" | "zh";

export function detectLang(): Lang {
  const saved = localStorage.getItem("k8sm.lang");
  if (saved === "en" || saved === "zh") return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

let lang: Lang = detectLang();

export function setLang(l: Lang) { lang = l; localStorage.setItem("k8sm.lang", l); document.documentElement.lang = l === "zh" ? "zh-CN" : "en"; }
export function currentLang(): Lang { return lang; }

/** t translates an English UI string. */
export function t(s: string): string { return lang === "zh" ? zh[s] ?? s : s; }
