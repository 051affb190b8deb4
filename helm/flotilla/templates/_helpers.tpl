{{/* Names are cut at 63 characters: the limit of a DNS label and of a label value. */}}
{{- define "flotilla.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "flotilla.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "flotilla.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flotilla.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "flotilla.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "flotilla.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flotilla
{{- end -}}

{{- define "flotilla.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "flotilla.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "flotilla.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the controller's own service account is bound to cluster-admin. */}}
{{- define "flotilla.clusterAdmin" -}}
{{- if kindIs "bool" .Values.rbac.clusterAdmin -}}
{{- .Values.rbac.clusterAdmin -}}
{{- else -}}
{{- not .Values.multitenancy.enabled -}}
{{- end -}}
{{- end -}}

{{/* "true" when the platform service accounts (kustomize-controller, …) are bound. */}}
{{- define "flotilla.platformServiceAccounts" -}}
{{- $p := .Values.multitenancy.platformServiceAccounts -}}
{{- if kindIs "bool" $p.enabled -}}
{{- $p.enabled -}}
{{- else -}}
{{- .Values.multitenancy.enabled -}}
{{- end -}}
{{- end -}}

{{- define "flotilla.metricsServiceName" -}}
{{- default (printf "%s-metrics" (include "flotilla.fullname" .)) .Values.services.metrics.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The host:port the operator writes into status.artifact.url. */}}
{{- define "flotilla.storageAdvAddr" -}}
{{- if .Values.storage.advertisedAddress -}}
{{- .Values.storage.advertisedAddress -}}
{{- else -}}
{{- $host := printf "%s.$(RUNTIME_NAMESPACE).svc.cluster.local." .Values.services.artifacts.name -}}
{{- if eq (int .Values.services.artifacts.port) 80 -}}
{{- $host -}}
{{- else -}}
{{- printf "%s:%d" $host (int .Values.services.artifacts.port) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The operator's command-line flags, one YAML list item per line. */}}
{{- define "flotilla.args" -}}
{{- $o := .Values.operator -}}
{{- $mt := .Values.multitenancy -}}
- --concurrent={{ $o.concurrent }}
- --kube-api-qps={{ $o.kubeApiQps }}
- --kube-api-burst={{ $o.kubeApiBurst }}
- --requeue-dependency={{ $o.requeueDependency }}
- --min-retry-delay={{ $o.minRetryDelay }}
- --max-retry-delay={{ $o.maxRetryDelay }}
- --interval-jitter-percentage={{ $o.intervalJitterPercentage }}
- --watch-all-namespaces={{ $o.watchAllNamespaces }}
{{- with $o.watchLabelSelector }}
- {{ printf "--watch-label-selector=%s" . | quote }}
{{- end }}
- --log-level={{ $o.logLevel }}
- --log-encoding={{ $o.logEncoding }}
- --storage-path={{ .Values.storage.path }}
- --storage-addr=:{{ .Values.ports.artifacts }}
- {{ printf "--storage-adv-addr=%s" (include "flotilla.storageAdvAddr" .) | quote }}
- --metrics-addr=:{{ .Values.ports.metrics }}
- --health-addr=:{{ .Values.ports.health }}
- --receiver-addr=:{{ .Values.ports.receiver }}
{{- if $o.leaderElection.enabled }}
- --enable-leader-election
- --leader-election-lease-duration={{ $o.leaderElection.leaseDuration }}
- --leader-election-renew-deadline={{ $o.leaderElection.renewDeadline }}
- --leader-election-retry-period={{ $o.leaderElection.retryPeriod }}
{{- end }}
{{- if or $mt.enabled $o.noCrossNamespaceRefs }}
- --no-cross-namespace-refs
{{- end }}
{{- if or $mt.enabled $o.noRemoteBases }}
- --no-remote-bases
{{- end }}
{{- if and $mt.enabled (not $o.defaultServiceAccount) }}
- --default-service-account={{ $mt.defaultServiceAccount }}
{{- else if $o.defaultServiceAccount }}
- --default-service-account={{ $o.defaultServiceAccount }}
{{- end }}
{{- with $o.featureGates }}
{{- $gates := list }}
{{- range $name, $on := . }}
{{- $gates = append $gates (printf "%s=%t" $name $on) }}
{{- end }}
- {{ printf "--feature-gates=%s" (join "," $gates) | quote }}
{{- end }}
{{- if $o.insecureKubeconfigExec }}
- --insecure-kubeconfig-exec
{{- end }}
{{- if $o.insecureKubeconfigTls }}
- --insecure-kubeconfig-tls
{{- end }}
{{- range $o.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* An emptyDir source as flow YAML; `{}` when neither medium nor sizeLimit is set. */}}
{{- define "flotilla.emptyDir" -}}
{{- $e := dict -}}
{{- with .medium }}{{ $_ := set $e "medium" . }}{{ end -}}
{{- with .sizeLimit }}{{ $_ := set $e "sizeLimit" . }}{{ end -}}
{{- toJson $e -}}
{{- end -}}
