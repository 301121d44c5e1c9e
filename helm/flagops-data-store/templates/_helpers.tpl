{{/* Chart name, truncated to a DNS label. */}}
{{- define "flagops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "flagops.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flagops.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable for the life of a release. */}}
{{- define "flagops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flagops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Standard labels of every object. */}}
{{- define "flagops.labels" -}}
helm.sh/chart: {{ include "flagops.chart" . }}
{{ include "flagops.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: flagops
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "flagops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flagops.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "flagops.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "flagops.leaseName" -}}
{{- default (include "flagops.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "flagops.defaultNamespace" -}}
{{- if .Values.defaultNamespace }}
{{- .Values.defaultNamespace }}
{{- else if .Values.watchNamespaces }}
{{- first .Values.watchNamespaces }}
{{- else }}
{{- "default" }}
{{- end }}
{{- end }}

{{/* The webhooks, each secretRef.namespace defaulted to the release namespace, as a YAML list. */}}
{{- define "flagops.webhooks" -}}
{{- $out := list }}
{{- range .Values.webhooks }}
{{- $ns := default $.Release.Namespace .secretRef.namespace }}
{{- $hook := dict "name" .name "secretRef" (dict "namespace" $ns "name" .secretRef.name "key" .secretRef.key) "namespaces" .namespaces }}
{{- $out = append $out $hook }}
{{- end }}
{{- toYaml (dict "webhooks" $out) }}
{{- end }}

{{/*
Namespaces whose webhook key Secrets the operator cannot already read through the per-namespace
Roles (namespaced mode only): a dict namespace -> list of Secret names.
*/}}
{{- define "flagops.webhookSecretNamespaces" -}}
{{- $byNs := dict }}
{{- range .Values.webhooks }}
{{- $ns := default $.Release.Namespace .secretRef.namespace }}
{{- if not (has $ns $.Values.watchNamespaces) }}
{{- $names := get $byNs $ns | default list }}
{{- $_ := set $byNs $ns (append $names .secretRef.name | uniq) }}
{{- end }}
{{- end }}
{{- toYaml $byNs }}
{{- end }}

{{/* Scheme of the HTTP server. */}}
{{- define "flagops.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* Rules the operator needs in every namespace it watches. */}}
{{- define "flagops.namespacedRules" -}}
# The custom resources: read, and written through the API (server-side apply).
- apiGroups: ["flagops.io"]
  resources: ["deploymentfacts", "deploymentsecrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["flagops.io"]
  resources: ["deploymentfacts/status", "deploymentsecrets/status"]
  verbs: ["get", "patch"]
# FactSources: run them (their connection Secrets are read with the Secrets rule below) and report status.
- apiGroups: ["flagops.io"]
  resources: ["factsources"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["flagops.io"]
  resources: ["factsources/status"]
  verbs: ["get", "patch"]
# FactProfiles: merged beneath the identities' own facts; status reports what each selects.
- apiGroups: ["flagops.io"]
  resources: ["factprofiles"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["flagops.io"]
  resources: ["factprofiles/status"]
  verbs: ["get", "patch"]
# FactRevisions: the leader records each change of served facts and prunes beyond the history limit; the API
# reads them for history, ?revision and ?asOf (never watched).
- apiGroups: ["flagops.io"]
  resources: ["factrevisions"]
  verbs: ["get", "list", "create", "delete"]
{{- if .Values.projections.configMaps }}
# ConfigMap projections of facts (owned by their DeploymentFacts).
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "patch", "delete"]
{{- end }}
# Secrets: resolve references; manage the Secrets that hold values written through the API
# (owned by their DeploymentSecrets).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
{{/* Cluster-scoped rules: always in a ClusterRole. */}}
{{- define "flagops.clusterRules" -}}
# Authenticate and authorize API callers.
- apiGroups: ["authentication.k8s.io"]
  resources: ["tokenreviews"]
  verbs: ["create"]
- apiGroups: ["authorization.k8s.io"]
  resources: ["subjectaccessreviews"]
  verbs: ["create"]
# ClusterFactProfiles are cluster-scoped: read in every mode (they reach the watched namespaces only).
- apiGroups: ["flagops.io"]
  resources: ["clusterfactprofiles"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["flagops.io"]
  resources: ["clusterfactprofiles/status"]
  verbs: ["get", "patch"]
# Namespace labels, for a ClusterFactProfile's namespaceSelector (only the labels are kept).
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
{{- end }}
