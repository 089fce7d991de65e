{{/*
Names, labels, the merged settings of one service, and the environment every pod gets.
files/topology.json (written by deploy/helm/sync_files.py from contracts/registry.py and the
services' settings) says which topics and consumer groups each service has and its port.
*/}}

{{- define "tgint.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tgint.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tgint.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "tgint.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tgint
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "router") */}}
{{- define "tgint.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tgint.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tgint.topology" -}}
{{- .Files.Get "files/topology.json" -}}
{{- end -}}

{{- define "tgint.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tgint.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* image of a target: (dict "root" $ "target" "router") */}}
{{- define "tgint.image" -}}
{{- printf "%s-%s:%s" .root.Values.image.repository .target (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{/*
Deep merge as YAML: .src over .dst, maps merged key by key, anything else replaced (unlike
sprig's mergeOverwrite, false and 0 do override).
*/}}
{{- define "tgint.merge" -}}
{{- $dst := deepCopy .dst -}}
{{- range $k, $v := .src -}}
{{- if and (kindIs "map" $v) (kindIs "map" (get $dst $k)) -}}
{{- $_ := set $dst $k (include "tgint.merge" (dict "dst" (get $dst $k) "src" $v) | fromYaml) -}}
{{- else -}}
{{- $_ := set $dst $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $dst -}}
{{- end -}}

{{/* The settings of one service: defaults with services.<name> over them, as YAML. */}}
{{- define "tgint.service" -}}
{{- include "tgint.merge" (dict "dst" .root.Values.defaults "src" (index .root.Values.services .name)) -}}
{{- end -}}

{{/*
Checks the schema cannot express (they need the topology or several values at once).
Called once, from configmap.yaml.
*/}}
{{- define "tgint.validate" -}}
{{- $topology := include "tgint.topology" . | fromJson -}}
{{- range $name, $_ := $topology.services -}}
{{- $svc := include "tgint.service" (dict "root" $ "name" $name) | fromYaml -}}
{{- if $svc.enabled -}}
{{- $floor := add (int $svc.preStopSleepSeconds) 40 -}}
{{- if lt (int $svc.terminationGracePeriodSeconds) (int $floor) -}}
{{- fail (printf "services.%s: terminationGracePeriodSeconds %v is shorter than preStopSleepSeconds + 40 s (uvicorn drains 20 s, in-flight messages 15 s, pools close): set at least %d" $name $svc.terminationGracePeriodSeconds $floor) -}}
{{- end -}}
{{- $parts := 0 -}}
{{- range (index $topology.services $name).consumes -}}
{{- $parts = max $parts (int .partitions) -}}
{{- end -}}
{{- if and (ne $svc.autoscaling.mode "none") (ne $name "router") (gt (int $svc.autoscaling.maxReplicas) (int $parts)) -}}
{{- fail (printf "services.%s: autoscaling.maxReplicas %v exceeds %d, the partitions of its busiest topic; more consumers would idle" $name $svc.autoscaling.maxReplicas $parts) -}}
{{- end -}}
{{- if and (ne $svc.autoscaling.mode "none") (gt (int $svc.autoscaling.minReplicas) (int $svc.autoscaling.maxReplicas)) -}}
{{- fail (printf "services.%s: autoscaling.minReplicas exceeds maxReplicas" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $retrieval := include "tgint.service" (dict "root" . "name" "retrieval") | fromYaml -}}
{{- if and $retrieval.enabled .Values.qdrant.embedded.enabled (or (gt (int $retrieval.replicas) 1) (ne $retrieval.autoscaling.mode "none")) -}}
{{- fail "qdrant.embedded.enabled: retrieval keeps its vectors in Qdrant Edge on its own volume, so it runs one replica (services.retrieval.replicas: 1) without autoscaling; or set qdrant.url" -}}
{{- end -}}
{{- $trend := include "tgint.service" (dict "root" . "name" "trend") | fromYaml -}}
{{- if and $trend.enabled (ne $trend.autoscaling.mode "none") -}}
{{- fail "services.trend cannot be autoscaled: it keeps each tenant's stories in memory (one replica)" -}}
{{- end -}}
{{- end -}}

{{/* Variables from Secrets for one service (dict "root" $ "name" "router"); YAML list items. */}}
{{- define "tgint.secretEnv" -}}
{{- $v := .root.Values -}}
- name: TGI_POSTGRES_DSN
  valueFrom:
    secretKeyRef: {name: {{ $v.postgres.existingSecret | quote }}, key: {{ $v.postgres.dsnKey | quote }}}
{{- if hasPrefix "SASL" $v.kafka.securityProtocol }}
- name: TGI_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ $v.kafka.sasl.existingSecret | quote }}, key: {{ $v.kafka.sasl.usernameKey | quote }}}
- name: TGI_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $v.kafka.sasl.existingSecret | quote }}, key: {{ $v.kafka.sasl.passwordKey | quote }}}
{{- end }}
{{- if eq .name "retrieval" }}
{{- if $v.neo4j.existingSecret }}
- name: TGI_RETRIEVAL_NEO4J_USER
  valueFrom:
    secretKeyRef: {name: {{ $v.neo4j.existingSecret | quote }}, key: {{ $v.neo4j.usernameKey | quote }}}
- name: TGI_RETRIEVAL_NEO4J_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $v.neo4j.existingSecret | quote }}, key: {{ $v.neo4j.passwordKey | quote }}}
{{- end }}
{{- if and (not $v.qdrant.embedded.enabled) $v.qdrant.existingSecret }}
- name: TGI_RETRIEVAL_QDRANT_API_KEY
  valueFrom:
    secretKeyRef: {name: {{ $v.qdrant.existingSecret | quote }}, key: {{ $v.qdrant.apiKeyKey | quote }}}
{{- end }}
{{- if and (eq $v.embeddings.provider "openai") $v.llm.openai.existingSecret }}
- name: TGI_RETRIEVAL_OPENAI_API_KEY
  valueFrom:
    secretKeyRef: {name: {{ $v.llm.openai.existingSecret | quote }}, key: {{ $v.llm.openai.apiKeyKey | quote }}}
{{- end }}
{{- if eq $v.embeddings.provider "gigachat" }}
- name: TGI_RETRIEVAL_GIGACHAT_CREDENTIALS
  valueFrom:
    secretKeyRef: {name: {{ $v.llm.gigachat.existingSecret | quote }}, key: {{ $v.llm.gigachat.credentialsKey | quote }}}
{{- end }}
{{- end }}
{{- if has .name (list "router" "digest") }}
{{- if and (eq $v.llm.provider "openai") $v.llm.openai.existingSecret }}
- name: TGI_LLM_OPENAI_API_KEY
  valueFrom:
    secretKeyRef: {name: {{ $v.llm.openai.existingSecret | quote }}, key: {{ $v.llm.openai.apiKeyKey | quote }}}
{{- end }}
{{- if eq $v.llm.provider "gigachat" }}
- name: TGI_LLM_GIGACHAT_CREDENTIALS
  valueFrom:
    secretKeyRef: {name: {{ $v.llm.gigachat.existingSecret | quote }}, key: {{ $v.llm.gigachat.credentialsKey | quote }}}
{{- end }}
{{- end }}
{{- if has .name (list "router" "memory" "digest" "dlq") }}
- name: TGI_INTERNAL_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ $v.internalApi.existingSecret | quote }}, key: {{ $v.internalApi.tokenKey | quote }}}
{{- end }}
{{- if and (eq .name "dlq") $v.internalApi.operatorSecret }}
- name: TGI_DLQ_API_TOKENS
  valueFrom:
    secretKeyRef: {name: {{ $v.internalApi.operatorSecret | quote }}, key: {{ $v.internalApi.operatorKey | quote }}}
{{- end }}
{{- if and (eq .name "router") $v.router.jwt.existingSecret }}
- name: TGI_ROUTER_JWT_SECRET
  valueFrom:
    secretKeyRef: {name: {{ $v.router.jwt.existingSecret | quote }}, key: {{ $v.router.jwt.key | quote }}}
{{- end }}
{{- if $v.kafka.tls.caSecret }}
- name: SSL_CERT_FILE
  value: /etc/tgint/kafka-ca/{{ $v.kafka.tls.caKey }}
{{- end }}
{{- end -}}

{{/* Non-secret Kafka settings, for the jobs (hooks run before the ConfigMaps exist). */}}
{{- define "tgint.kafkaEnv" -}}
- name: TGI_KAFKA_BOOTSTRAP
  value: {{ .Values.kafka.bootstrap | quote }}
- name: TGI_KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL" .Values.kafka.securityProtocol }}
- name: TGI_KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
{{- end }}
- name: TGI_TOPIC_PREFIX
  value: {{ .Values.config.topicPrefix | quote }}
{{- end -}}

{{/* Volumes for the Kafka CA bundle and /tmp (the root filesystem is read-only). */}}
{{- define "tgint.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret | quote }}
{{- end }}
{{- end -}}

{{- define "tgint.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/tgint/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}
