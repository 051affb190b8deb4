import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from '../runtime/duration.ts';
import type { LogLevel } from '../runtime/log/logger.ts';

/** The operator's settings, parsed once from flags and environment, then frozen. */
export interface OperatorConfig {
  kubeconfig: string | undefined;
  /** KUBERNETES_SERVICE_HOST/PORT: set inside a pod, used when no kubeconfig is given. */
  inCluster: { host: string; port: string } | undefined;
  kubeContext: string | undefined;
  kubeApiQps: number;
  kubeApiBurst: number;
  concurrent: number;
  requeueDependencyMs: number;
  minRetryDelayMs: number;
  maxRetryDelayMs: number;
  intervalJitterPercentage: number;
  defaultServiceAccount: string | undefined;
  noCrossNamespaceRefs: boolean;
  noRemoteBases: boolean;
  storagePath: string;
  storageAddr: string;
  storageAdvAddr: string;
  metricsAddr: string;
  healthAddr: string;
  receiverAddr: string;
  enableLeaderElection: boolean;
  leaderElection: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  watchAllNamespaces: boolean;
  watchLabelSelector: string | undefined;
  logLevel: LogLevel;
  /** The namespace the operator runs in (RUNTIME_NAMESPACE, as Flux). */
  runtimeNamespace: string;
  /** Leader-election identity (POD_NAME or host name + pid). */
  identity: string;
  tools: { kubectl: string; helm: string };
  /** PATH handed to child processes (git, ssh). */
  searchPath: string;
  /** `--feature-gates`, with Flux's defaults filled in. */
  featureGates: Readonly<Record<FeatureGate, boolean>>;
  /** `--insecure-kubeconfig-exec`: remote kubeconfigs may use exec and auth-provider plugins. */
  insecureKubeconfigExec: boolean;
  /** `--insecure-kubeconfig-tls`: remote kubeconfigs may skip TLS verification. */
  insecureKubeconfigTls: boolean;
  /** Flux flags given that change nothing here, for one line in the start-up log. */
  ignoredFlags: string[];
}

/**
 * Flux's feature gates across its controllers, with their defaults. The ones Flotilla acts
 * on: StrictPostBuildSubstitutions, DisableFailFastBehavior, AdditiveCELDependencyCheck,
 * CancelHealthCheckOnNewRevision.
 * The others are accepted so that existing Deployment args keep working.
 */
export const FEATURE_GATES = {
  StrictPostBuildSubstitutions: true,
  DisableStatusPollerCache: true,
  DisableFailFastBehavior: false,
  GroupChangeLog: false,
  AdditiveCELDependencyCheck: false,
  ExternalArtifact: false,
  CancelHealthCheckOnNewRevision: false,
  DisableConfigWatchers: false,
  DirectSourceFetch: false,
  MigrateAPIVersion: false,
  CacheSecretsAndConfigMaps: false,
  ObjectLevelWorkloadIdentity: false,
  DetectDrift: false,
  CorrectDrift: false,
  AllowDNSLookups: false,
  OOMWatch: false,
  AdoptLegacyReleases: true,
  DisableChartDigestTracking: false,
  UseHelm3Defaults: false,
  DefaultToRetryOnFailure: false,
  GitForcePushBranch: true,
  GitShallowClone: true,
  GitAllBranchReferences: true,
  GitSparseCheckout: false,
  FluxStorage: false,
} as const;

export type FeatureGate = keyof typeof FEATURE_GATES;

/** Parses `A=true,B=false` like Kubernetes' component flags; an unknown gate is an error. */
export function parseFeatureGates(text: string | undefined): Record<FeatureGate, boolean> {
  const gates: Record<FeatureGate, boolean> = { ...FEATURE_GATES };
  for (const part of (text ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', value = 'true'] = part.split('=').map((x) => x.trim());
    if (!(name in FEATURE_GATES)) throw new Error(`--feature-gates: unknown feature gate '${name}' (known: ${Object.keys(FEATURE_GATES).join(', ')})`);
    if (value !== 'true' && value !== 'false') throw new Error(`--feature-gates: ${name} wants true or false, got ${JSON.stringify(value)}`);
    gates[name as FeatureGate] = value === 'true';
  }
  return gates;
}

/**
 * Flags of Flux's controllers that have no counterpart here (cache sizes of a Helm index
 * cache Flotilla does not keep, the notification address of a separate process, ...).
 * They are accepted with their value so that a Flux Deployment's args work unchanged.
 */
export const FLUX_FLAGS_WITHOUT_EFFECT = [
  'events-addr',
  'artifact-retention-ttl',
  'artifact-retention-records',
  'artifact-digest-algo',
  'helm-index-max-size',
  'helm-chart-max-size',
  'helm-chart-file-max-size',
  'helm-cache-max-size',
  'helm-cache-ttl',
  'helm-cache-purge-interval',
  'ssh-hostkey-algos',
  'ssh-kex-algos',
  'token-cache-max-size',
  'default-kubeconfig-service-account',
  'default-decryption-service-account',
  'sops-age-secret',
  'graceful-shutdown-timeout',
] as const;

export const DEFAULT_QPS = 500;
export const DEFAULT_BURST = 1000;

/** Raw flag values as commander hands them over (strings and booleans). */
export type RawOptions = Record<string, string | boolean | undefined>;

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(name: string, v: string | boolean | undefined, def: number): number {
  if (v === undefined || v === true || v === false) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: ${JSON.stringify(v)} is not a non-negative number`);
  return n;
}

function dur(name: string, v: string | boolean | undefined, def: number): number {
  if (typeof v !== 'string') return def;
  const ms = parseDuration(v);
  if (ms === undefined) throw new Error(`--${name}: ${JSON.stringify(v)} is not a duration (examples: 30s, 5m, 1h)`);
  return ms;
}

function bool(v: string | boolean | undefined, def: boolean): boolean {
  if (v === undefined) return def;
  if (typeof v === 'boolean') return v;
  return v === 'true' || v === '1';
}

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

/** Where the helm and kubectl binaries are: env override, the install cache, then PATH. */
export function toolPaths(env: NodeJS.ProcessEnv = process.env): { kubectl: string; helm: string } {
  const cache = env['FLOTILLA_CACHE'] ?? path.join(os.homedir(), '.cache', 'flotilla');
  return {
    kubectl: env['FLOTILLA_KUBECTL'] ?? path.join(cache, 'tools', 'kubectl', 'kubectl'),
    helm: env['FLOTILLA_HELM'] ?? path.join(cache, 'tools', 'helm', 'helm'),
  };
}

export function resolveConfig(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): Readonly<OperatorConfig> {
  const logLevel = (str(raw['logLevel']) ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`--log-level: want one of ${LOG_LEVELS.join(', ')}`);
  const storageAddr = str(raw['storageAddr']) ?? ':9090';
  const runtimeNamespace = env['RUNTIME_NAMESPACE'] ?? str(raw['runtimeNamespace']) ?? 'flotilla-system';
  const cfg: OperatorConfig = {
    kubeconfig: str(raw['kubeconfig']) ?? env['KUBECONFIG']?.split(':')[0] ?? defaultKubeconfig(env),
    inCluster: env['KUBERNETES_SERVICE_HOST'] ? { host: env['KUBERNETES_SERVICE_HOST'], port: env['KUBERNETES_SERVICE_PORT'] ?? '443' } : undefined,
    kubeContext: str(raw['context']),
    // Flux gives each controller 50/300; one Flotilla process runs them all, and large
    // first applies are bound by this budget (the API server's priority and fairness
    // still protects it), so the default is higher
    kubeApiQps: num('kube-api-qps', raw['kubeApiQps'], DEFAULT_QPS),
    kubeApiBurst: num('kube-api-burst', raw['kubeApiBurst'], DEFAULT_BURST),
    concurrent: Math.max(1, num('concurrent', raw['concurrent'], 4)),
    requeueDependencyMs: dur('requeue-dependency', raw['requeueDependency'], 30_000),
    minRetryDelayMs: dur('min-retry-delay', raw['minRetryDelay'], 750),
    maxRetryDelayMs: dur('max-retry-delay', raw['maxRetryDelay'], 15 * 60_000),
    intervalJitterPercentage: num('interval-jitter-percentage', raw['intervalJitterPercentage'], 5),
    defaultServiceAccount: str(raw['defaultServiceAccount']),
    // commander turns `--no-x` into `x: false`
    noCrossNamespaceRefs: bool(raw['noCrossNamespaceRefs'], false) || raw['crossNamespaceRefs'] === false,
    noRemoteBases: bool(raw['noRemoteBases'], false) || raw['remoteBases'] === false,
    storagePath: str(raw['storagePath']) ?? '/data',
    storageAddr,
    storageAdvAddr: str(raw['storageAdvAddr']) ?? advertised(storageAddr, env),
    metricsAddr: str(raw['metricsAddr']) ?? ':8080',
    healthAddr: str(raw['healthAddr']) ?? ':9440',
    receiverAddr: str(raw['receiverAddr']) ?? ':9292',
    enableLeaderElection: bool(raw['enableLeaderElection'], false),
    leaderElection: {
      leaseDurationMs: dur('leader-election-lease-duration', raw['leaderElectionLeaseDuration'], 35_000),
      renewDeadlineMs: dur('leader-election-renew-deadline', raw['leaderElectionRenewDeadline'], 30_000),
      retryPeriodMs: dur('leader-election-retry-period', raw['leaderElectionRetryPeriod'], 5_000),
    },
    watchAllNamespaces: bool(raw['watchAllNamespaces'], true),
    watchLabelSelector: str(raw['watchLabelSelector']),
    logLevel,
    runtimeNamespace,
    identity: env['POD_NAME'] ?? `${os.hostname()}_${process.pid}`,
    tools: toolPaths(env),
    searchPath: env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    featureGates: Object.freeze(parseFeatureGates(str(raw['featureGates']))),
    insecureKubeconfigExec: bool(raw['insecureKubeconfigExec'], false),
    insecureKubeconfigTls: bool(raw['insecureKubeconfigTls'], false),
    ignoredFlags: FLUX_FLAGS_WITHOUT_EFFECT.filter((f) => raw[camel(f)] !== undefined).map((f) => `--${f}`),
  };
  return Object.freeze(cfg);
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** ~/.kube/config when it exists and we are not in a pod (client-go's order). */
function defaultKubeconfig(env: NodeJS.ProcessEnv): string | undefined {
  if (env['KUBERNETES_SERVICE_HOST']) return undefined;
  const p = path.join(env['HOME'] ?? os.homedir(), '.kube', 'config');
  return existsSync(p) ? p : undefined;
}

/** Flux advertises `<hostname>:<port>` of the storage server unless told otherwise. */
function advertised(storageAddr: string, env: NodeJS.ProcessEnv): string {
  const port = storageAddr.slice(storageAddr.lastIndexOf(':') + 1);
  const host = env['HOSTNAME'] ?? os.hostname();
  return `${host}:${port}`;
}

const SWITCHES = ['--no-cross-namespace-refs', '--no-remote-bases', '--enable-leader-election', '--insecure-kubeconfig-exec', '--insecure-kubeconfig-tls'];

/**
 * Flux spells boolean switches `--no-cross-namespace-refs=true`; commander only knows the
 * bare form. `--x=true` becomes `--x`, `--x=false` disappears.
 */
export function normalizeSwitches(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (eq > 0 && SWITCHES.includes(name)) {
      const v = a.slice(eq + 1);
      if (v === 'true' || v === '1') out.push(name);
      else if (v !== 'false' && v !== '0') throw new Error(`${name}: want true or false, got ${JSON.stringify(v)}`);
      continue;
    }
    out.push(a);
  }
  return out;
}

/** Flag definitions shared by `flotilla operator` and the Helm chart's values. */
export const OPERATOR_FLAGS: ReadonlyArray<{ flag: string; help: string; default?: string }> = [
  { flag: '--kubeconfig <path>', help: 'kubeconfig file (default: in-cluster or $KUBECONFIG)' },
  { flag: '--context <name>', help: 'kubeconfig context' },
  { flag: '--kube-api-qps <n>', help: 'client-side requests per second to the API server', default: '500' },
  { flag: '--kube-api-burst <n>', help: 'client-side request burst to the API server', default: '1000' },
  { flag: '--concurrent <n>', help: 'concurrent reconciles per controller', default: '4' },
  { flag: '--requeue-dependency <duration>', help: 'requeue interval for objects waiting on dependencies', default: '30s' },
  { flag: '--min-retry-delay <duration>', help: 'first back-off delay after a failed reconcile', default: '750ms' },
  { flag: '--max-retry-delay <duration>', help: 'longest back-off delay after failed reconciles', default: '15m' },
  { flag: '--interval-jitter-percentage <n>', help: 'jitter added to spec.interval requeues, in percent', default: '5' },
  { flag: '--default-service-account <name>', help: 'service account impersonated when an object names none (lockdown)' },
  { flag: '--no-cross-namespace-refs', help: 'refuse references to sources and objects in other namespaces' },
  { flag: '--no-remote-bases', help: 'refuse kustomize remote bases (only the source artifact is read)' },
  { flag: '--storage-path <dir>', help: 'where artifacts are stored', default: '/data' },
  { flag: '--storage-addr <addr>', help: 'listen address of the artifact file server', default: ':9090' },
  { flag: '--storage-adv-addr <addr>', help: 'advertised address of the artifact server, used in status.artifact.url' },
  { flag: '--metrics-addr <addr>', help: 'listen address of the metrics endpoint', default: ':8080' },
  { flag: '--health-addr <addr>', help: 'listen address of /healthz and /readyz', default: ':9440' },
  { flag: '--receiver-addr <addr>', help: 'listen address of the notification receiver webhooks', default: ':9292' },
  { flag: '--enable-leader-election', help: 'elect a leader on a coordination.k8s.io Lease before reconciling' },
  { flag: '--leader-election-lease-duration <duration>', help: 'lease duration', default: '35s' },
  { flag: '--leader-election-renew-deadline <duration>', help: 'renew deadline', default: '30s' },
  { flag: '--leader-election-retry-period <duration>', help: 'retry period', default: '5s' },
  { flag: '--watch-all-namespaces [bool]', help: 'watch every namespace, or only the runtime namespace', default: 'true' },
  { flag: '--watch-label-selector <selector>', help: 'only reconcile objects matching this label selector (sharding)' },
  { flag: '--log-level <level>', help: 'trace, debug, info, warn or error', default: 'info' },
  { flag: '--log-encoding <encoding>', help: 'accepted for Flux compatibility; logs are always JSON', default: 'json' },
  { flag: '--feature-gates <gates>', help: "Flux's feature gates, e.g. DisableFailFastBehavior=true,AdditiveCELDependencyCheck=true" },
  { flag: '--insecure-kubeconfig-exec', help: 'allow exec and auth-provider plugins in remote kubeconfigs (runs programs named by tenants)' },
  { flag: '--insecure-kubeconfig-tls', help: 'allow remote kubeconfigs that skip TLS verification' },
];

/** Flux's flags that Flotilla accepts and ignores (hidden from `--help`; the chart has no values for them). */
export const COMPAT_FLAGS: ReadonlyArray<{ flag: string; help: string }> = FLUX_FLAGS_WITHOUT_EFFECT.map((f) => ({
  flag: `--${f} <value>`,
  help: 'accepted for Flux compatibility; no effect in Flotilla',
}));
