{{/*
Names are fixed, as in manifests/: the CRDs, the ClusterRole and the webhook
configurations are cluster-wide, so a cluster runs one release of this chart.
*/}}

{{/* Labels of every object: the selector label of manifests/ and Helm's own. */}}
{{- define "kbo.labels" -}}
app.kubernetes.io/name: kafka-backup-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "kbo.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The operator's ServiceAccount as the API server names the user. */}}
{{- define "kbo.username" -}}
system:serviceaccount:{{ .Release.Namespace }}:kafka-backup-operator
{{- end }}

{{/* "true" when the webhooks carry matchConditions (Kubernetes 1.28 and newer); the
values' schema allows auto, true and false only. */}}
{{- define "kbo.matchConditions" -}}
{{- $mode := .Values.webhooks.matchConditions | toString -}}
{{- if eq $mode "auto" -}}
{{- semverCompare ">=1.28.0-0" .Capabilities.KubeVersion.Version -}}
{{- else -}}
{{- $mode -}}
{{- end -}}
{{- end }}

{{/* What both webhook configurations share after their name. */}}
{{- define "kbo.webhook" -}}
admissionReviewVersions: ["v1"]
sideEffects: None
failurePolicy: Fail
matchPolicy: Equivalent
{{- if eq .kind "mutating" }}
reinvocationPolicy: Never
{{- end }}
timeoutSeconds: 5
# Never called for objects in the operator's own namespace, so the operator can always
# be repaired.
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: [{{ .root.Release.Namespace | quote }}]
{{- if eq (include "kbo.matchConditions" .root) "true" }}
# The operator's own writes (its finalizer, its labels) never wait on this webhook.
matchConditions:
  - name: not-the-operator
    expression: {{ printf "request.userInfo.username != %q" (include "kbo.username" .root) | squote }}
{{- end }}
clientConfig:
  service:
    name: kafka-backup-operator-webhook
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: 443
  {{- with .root.Values.webhooks.caBundle }}
  {{- if $.root.Values.certManager.enabled }}
  {{- fail "webhooks.caBundle and certManager.enabled are both set: cert-manager injects the CA, leave webhooks.caBundle empty" }}
  {{- end }}
  caBundle: {{ . }}
  {{- end }}
# A request to kafkabackup.com/v1 (the same schema) reaches the webhook as v1alpha1.
rules:
  - apiGroups: ["kafkabackup.com"]
    apiVersions: ["v1alpha1"]
    operations: ["CREATE", "UPDATE"]
    resources: ["kafkabackups", "kafkarestores"]
    scope: Namespaced
{{- end }}
