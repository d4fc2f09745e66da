{{- define "k8s-manage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "k8s-manage.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "k8s-manage.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "k8s-manage.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "k8s-manage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "k8s-manage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "k8s-manage.labels" -}}
{{ include "k8s-manage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "k8s-manage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "k8s-manage.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "k8s-manage.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* secretEnv maps secrets.items to the configuration's *_file environment variables. */}}
{{- define "k8s-manage.secretFiles" -}}
storeDSN: K8SM_STORE_DSN_FILE
modelAPIKey: K8SM_AGENT_MODEL_API_KEY_FILE
knowledgeAPIKey: K8SM_KNOWLEDGE_API_KEY_FILE
milvusPassword: K8SM_KNOWLEDGE_MILVUS_PASSWORD_FILE
slackBotToken: K8SM_SLACK_BOT_TOKEN_FILE
slackAppToken: K8SM_SLACK_APP_TOKEN_FILE
slackSigningSecret: K8SM_SLACK_SIGNING_SECRET_FILE
dingtalkClientSecret: K8SM_DINGTALK_CLIENT_SECRET_FILE
alertsBearerToken: K8SM_ALERTS_BEARER_TOKEN_FILE
alertsPassword: K8SM_ALERTS_PASSWORD_FILE
configCenterKey: K8SM_CONFIG_CENTER_KEY_FILE
{{- end -}}
