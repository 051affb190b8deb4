/**
 * `flotilla create source git NAME …` and `flotilla create kustomization NAME …`: Flux's
 * flags build the object; `--export` prints it in the YAML `flux create --export` prints,
 * otherwise it is applied (server-side apply, field manager `flux` like Flux's CLI) and
 * the command waits until the controller reports it Ready.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { apiKindOf, type FluxKind } from '../../api/index.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { connect, globalsOf, withGlobals, type Globals } from './globals.ts';
import { formatGoDuration, parseGoDuration } from '../../runtime/go-duration.ts';
import { exportDocument } from './go-yaml.ts';
import { action, CliError, type ActionContext, type CliIO } from './io.ts';
import { CLI_FIELD_MANAGER } from './reconcile.ts';
import { stringField } from './status.ts';
import { parseBool } from './suspend.ts';
import { waitSettled } from './verbs.ts';

const NAME = /^[a-z0-9]([a-z0-9-]){0,61}[a-z0-9]$/;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const GIT_PROVIDERS = ['generic', 'github', 'aws', 'azure'];
const KUSTOMIZATION_SOURCE_KINDS = ['OCIRepository', 'GitRepository', 'Bucket'];
const HEALTH_CHECK_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet', 'HelmRelease'];

/** A Go duration flag, printed back the way Go prints it (`1m` → `1m0s`). */
function durationFlag(flag: string): (v: string) => string {
  return (v) => {
    const ns = parseGoDuration(v);
    if (ns === undefined) throw new InvalidArgumentError(`"${v}" is not a duration for ${flag} (examples: 30s, 5m, 1h)`);
    return formatGoDuration(ns);
  };
}

/** A string-slice flag as pflag reads it: repeatable, and each value split on commas. */
function listFlag(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

function boolOption(flags: string, description: string): Option {
  return new Option(`${flags} [bool]`, description).argParser(parseBool);
}

export function parseLabels(labels: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of labels) {
    const parts = label.split('=');
    if (parts.length !== 2) throw new CliError(`invalid label format '${label}', must be key=value`);
    const [key, value] = parts as [string, string];
    if (!LABEL_NAME.test(key)) throw new CliError(`invalid label '${key}': not a qualified name`);
    if (value.length > 63 || !LABEL_VALUE.test(value)) throw new CliError(`invalid label value '${value}'`);
    out[key] = value;
  }
  return out;
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new CliError(`name '${name}' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'`);
  }
}

function metadata(name: string, namespace: string, labels: Record<string, string>): Record<string, unknown> {
  return { name, namespace, ...(Object.keys(labels).length ? { labels } : {}) };
}

/** An object of `kind` in the storage version, labelled from the `--label` flags. */
function newObject(kind: FluxKind, name: string, namespace: string, label: readonly string[] | undefined, spec: Record<string, unknown>): KubeObject {
  const api = apiKindOf(kind);
  return { apiVersion: api.apiVersion, kind: api.kind, metadata: metadata(name, namespace, parseLabels(label ?? [])) as KubeObject['metadata'], spec };
}

interface GitOptions {
  url?: string;
  branch?: string;
  tag?: string;
  tagSemver?: string;
  semver?: string;
  refName?: string;
  commit?: string;
  secretRef?: string;
  proxySecretRef?: string;
  provider?: string;
  username?: string;
  password?: string;
  recurseSubmodules?: boolean;
  ignorePaths?: string[];
  sparseCheckoutPaths?: string[];
  fetchTimeout?: string;
  interval: string;
  label?: string[];
  export?: boolean;
}

/** The GitRepository `flux create source git` would make from these flags. */
export function gitRepositoryFrom(name: string, namespace: string, o: GitOptions): KubeObject {
  if (!o.url) throw new CliError('url is required');
  let scheme: string;
  try {
    scheme = new URL(o.url).protocol.replace(/:$/, '');
  } catch {
    throw new CliError(`git URL parse failed: ${o.url}`);
  }
  if (!['ssh', 'http', 'https'].includes(scheme)) throw new CliError(`git URL scheme '${scheme}' not supported, can be: ssh, http and https`);
  const semverRange = o.tagSemver ?? o.semver;
  if (!o.branch && !o.tag && !semverRange && !o.commit && !o.refName) {
    throw new CliError('a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver');
  }
  if (o.provider !== undefined && !GIT_PROVIDERS.includes(o.provider)) {
    throw new CliError(`invalid argument "${o.provider}" for "--provider" flag: source Git provider '${o.provider}' is not supported, must be one of: ${GIT_PROVIDERS.join('|')}`);
  }
  // one ref kind wins, in Flux's order of precedence; a commit may be pinned on a branch
  const ref: Record<string, string> = {};
  if (o.commit) {
    ref['commit'] = o.commit;
    if (o.branch) ref['branch'] = o.branch;
  } else if (o.refName) ref['name'] = o.refName;
  else if (semverRange) ref['semver'] = semverRange;
  else if (o.tag) ref['tag'] = o.tag;
  else if (o.branch) ref['branch'] = o.branch;
  const spec: Record<string, unknown> = { url: o.url, interval: o.interval, ref };
  if (o.recurseSubmodules) spec['recurseSubmodules'] = true;
  if (o.ignorePaths?.length) spec['ignore'] = o.ignorePaths.join('\n');
  if (o.sparseCheckoutPaths?.length) spec['sparseCheckout'] = o.sparseCheckoutPaths;
  if (o.fetchTimeout) spec['timeout'] = o.fetchTimeout;
  if (o.secretRef) spec['secretRef'] = { name: o.secretRef };
  if (o.proxySecretRef) spec['proxySecretRef'] = { name: o.proxySecretRef };
  if (o.provider) spec['provider'] = o.provider;
  return newObject('GitRepository', name, namespace, o.label, spec);
}

interface OciOptions {
  url?: string;
  tag?: string;
  tagSemver?: string;
  digest?: string;
  provider: string;
  secretRef?: string;
  proxySecretRef?: string;
  serviceAccount?: string;
  certRef?: string;
  ignorePaths?: string[];
  insecure?: boolean;
  layerSelector?: string;
  fetchTimeout?: string;
  interval: string;
  label?: string[];
  export?: boolean;
}

const OCI_PROVIDERS = ['generic', 'aws', 'azure', 'gcp'];

/** The OCIRepository `flux create source oci` would make from these flags. */
export function ociRepositoryFrom(name: string, namespace: string, o: OciOptions): KubeObject {
  if (!o.url) throw new CliError('url is required');
  if (!o.tag && !o.tagSemver && !o.digest) throw new CliError('--tag, --tag-semver or --digest is required');
  if (!OCI_PROVIDERS.includes(o.provider)) {
    throw new CliError(`invalid argument "${o.provider}" for "--provider" flag: source OCI provider '${o.provider}' is not supported, must be one of: ${OCI_PROVIDERS.join('|')}`);
  }
  const ref: Record<string, string> = {};
  if (o.digest) ref['digest'] = o.digest;
  if (o.tagSemver) ref['semver'] = o.tagSemver;
  if (o.tag) ref['tag'] = o.tag;
  const spec: Record<string, unknown> = { interval: o.interval, provider: o.provider, ref, url: o.url };
  if (o.insecure) spec['insecure'] = true;
  if (o.ignorePaths?.length) spec['ignore'] = o.ignorePaths.join('\n');
  if (o.layerSelector !== undefined) {
    const i = o.layerSelector.lastIndexOf(':');
    const [mediaType, operation] = i < 0 ? ['', ''] : [o.layerSelector.slice(0, i), o.layerSelector.slice(i + 1)];
    if (!mediaType || !operation) throw new CliError(`invalid --layer-selector "${o.layerSelector}": the format is '<media-type>:<operation>'`);
    if (operation !== 'extract' && operation !== 'copy') throw new CliError(`invalid --layer-selector "${o.layerSelector}": the operation is "extract" or "copy"`);
    spec['layerSelector'] = { mediaType, operation };
  }
  if (o.fetchTimeout) spec['timeout'] = o.fetchTimeout;
  if (o.serviceAccount) spec['serviceAccountName'] = o.serviceAccount;
  if (o.secretRef) spec['secretRef'] = { name: o.secretRef };
  if (o.proxySecretRef) spec['proxySecretRef'] = { name: o.proxySecretRef };
  if (o.certRef) spec['certSecretRef'] = { name: o.certRef };
  return newObject('OCIRepository', name, namespace, o.label, spec);
}

interface KsOptions {
  source?: string;
  path: string;
  prune?: boolean;
  wait?: boolean;
  healthCheck?: string[];
  healthCheckTimeout: string;
  dependsOn?: string[];
  serviceAccount?: string;
  decryptionProvider?: string;
  decryptionSecret?: string;
  targetNamespace?: string;
  kubeconfigSecretRef?: string;
  retryInterval?: string;
  interval: string;
  label?: string[];
  export?: boolean;
}

/** `[<kind>/]<name>[.<namespace>]`, kind defaulting to GitRepository. */
export function parseKustomizationSource(text: string): { kind: string; name: string; namespace?: string } {
  if (text.trim() === '') throw new CliError('no Kustomization source given, please specify a source');
  const slash = text.indexOf('/');
  let kind = slash < 0 ? '' : text.slice(0, slash);
  let name = slash < 0 ? text : text.slice(slash + 1);
  let namespace: string | undefined;
  const dot = name.lastIndexOf('.');
  if (dot >= 0) {
    namespace = name.slice(dot + 1);
    name = name.slice(0, dot);
  }
  if (!name) throw new CliError(`no name given for source of kind '${kind}'`);
  if (!kind) {
    if (KUSTOMIZATION_SOURCE_KINDS.includes(name)) throw new CliError(`no kind specified for source '${name}'`);
    kind = 'GitRepository';
  }
  const clean = KUSTOMIZATION_SOURCE_KINDS.find((k) => k.toLowerCase() === kind.toLowerCase());
  if (!clean) throw new CliError(`source kind '${kind}' is not supported, must be one of: ${KUSTOMIZATION_SOURCE_KINDS.join(', ')}`);
  return { kind: clean, name, ...(namespace ? { namespace } : {}) };
}

/** The Kustomization `flux create kustomization` would make from these flags. */
export function kustomizationFrom(name: string, namespace: string, o: KsOptions): KubeObject {
  if (!o.path) throw new CliError('path is required');
  if (!o.path.startsWith('./')) throw new CliError('path must begin with ./');
  if (!o.source) throw new CliError('source is required');
  const src = parseKustomizationSource(o.source);
  const spec: Record<string, unknown> = {
    interval: o.interval,
    path: o.path.replaceAll('\\', '/'),
    prune: o.prune === true,
    sourceRef: { kind: src.kind, name: src.name, ...(src.namespace ? { namespace: src.namespace } : {}) },
  };
  if (o.targetNamespace) spec['targetNamespace'] = o.targetNamespace;
  if (o.dependsOn?.length) {
    spec['dependsOn'] = o.dependsOn.map((d) => {
      const i = d.indexOf('/');
      return i < 0 ? { name: d } : { name: d.slice(i + 1), namespace: d.slice(0, i) };
    });
  }
  if (o.kubeconfigSecretRef) spec['kubeConfig'] = { secretRef: { name: o.kubeconfigSecretRef } };
  if (o.healthCheck?.length && !o.wait) {
    spec['healthChecks'] = o.healthCheck.map((w) => {
      const parts = w.split('/');
      if (parts.length !== 2) throw new CliError(`invalid health check '${w}' must be in the format 'kind/name.namespace'`);
      const [kind, nameNs] = parts as [string, string];
      if (!HEALTH_CHECK_KINDS.includes(kind)) throw new CliError(`invalid health check kind '${kind}' can be HelmRelease, Deployment, DaemonSet or StatefulSet`);
      const nn = nameNs.split('.');
      if (nn.length !== 2) throw new CliError(`invalid health check '${w}' must be in the format 'kind/name.namespace'`);
      return { ...(kind === 'HelmRelease' ? { apiVersion: apiKindOf('HelmRelease').apiVersion } : {}), kind, name: nn[0], namespace: nn[1] };
    });
    spec['timeout'] = o.healthCheckTimeout;
  }
  if (o.wait) {
    spec['wait'] = true;
    spec['timeout'] = o.healthCheckTimeout;
  }
  if (o.serviceAccount) spec['serviceAccountName'] = o.serviceAccount;
  if (o.decryptionProvider) {
    if (o.decryptionProvider !== 'sops') throw new CliError(`decryption provider '${o.decryptionProvider}' is not supported, must be one of: sops`);
    spec['decryption'] = { provider: o.decryptionProvider, ...(o.decryptionSecret ? { secretRef: { name: o.decryptionSecret } } : {}) };
  }
  if (o.retryInterval && o.retryInterval !== '0s') spec['retryInterval'] = o.retryInterval;
  return newObject('Kustomization', name, namespace, o.label, spec);
}

/** Applies `obj` (server-side, as the `flux` field manager); reports whether it was new. */
async function upsert(client: KubeClient, obj: KubeObject): Promise<{ created: boolean; applied: KubeObject }> {
  const existing = await client.get({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name });
  const applied = await client.apply(obj, { fieldManager: CLI_FIELD_MANAGER, force: true });
  return { created: existing === undefined, applied };
}

async function waitReady(client: KubeClient, g: Globals, obj: KubeObject, label: string): Promise<KubeObject> {
  const ref = { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
  const s = await waitSettled(() => client.get(ref), g.timeoutMs, `${label} reconciliation`, `${obj.kind} object '${obj.metadata.name}' not found in "${obj.metadata.namespace ?? ''}" namespace`);
  if (!s.result.ready) throw new CliError(s.result.message || `${label} is not ready`);
  return s.obj;
}

/** Applies `obj` and waits until it is Ready, reporting each step as Flux's CLI does; `label` names it in the messages. */
async function applyAndWait(ctx: ActionContext, client: KubeClient, g: Globals, obj: KubeObject, label: string): Promise<KubeObject> {
  ctx.progress.action(`applying ${label}`);
  const { created, applied } = await upsert(client, obj);
  ctx.progress.success(`${label} ${created ? 'created' : 'updated'}`);
  ctx.progress.waiting(`waiting for ${label} reconciliation`);
  return waitReady(client, g, applied, label);
}

// Flags that `create source git` and `create source oci` share.
const proxySecretRefOption = () =>
  new Option('--proxy-secret-ref <name>', 'the name of an existing secret containing the proxy address and credentials');
const ignorePathsOption = () =>
  new Option('--ignore-paths <paths>', 'paths to ignore (repeatable, or comma-separated)').argParser(listFlag);
const fetchTimeoutOption = () =>
  new Option('--fetch-timeout <duration>', 'set a timeout for fetching the source').argParser(durationFlag('--fetch-timeout'));

function createOptions(cmd: Command): Command {
  cmd
    .addOption(new Option('--interval <duration>', 'source sync interval').argParser(durationFlag('--interval')).default('1m0s'))
    .addOption(boolOption('--export', 'export in YAML format to stdout'))
    .addOption(new Option('--label <key=value>', 'set labels on the resource (repeatable, or comma-separated)').argParser(listFlag));
  return withGlobals(cmd, { allNamespaces: false });
}

function gitCommand(io: CliIO): Command {
  const cmd = new Command('git')
    .description('create or update a GitRepository source')
    .argument('[name]', 'GitRepository name')
    .addOption(new Option('--url <url>', 'git address, e.g. ssh://git@host/org/repository'))
    .addOption(new Option('--branch <branch>', 'git branch'))
    .addOption(new Option('--tag <tag>', 'git tag'))
    .addOption(new Option('--tag-semver <range>', 'git tag semver range'))
    .addOption(new Option('--semver <range>', 'alias of --tag-semver').hideHelp())
    .addOption(new Option('--ref-name <ref>', 'git reference name'))
    .addOption(new Option('--commit <sha>', 'git commit'))
    .addOption(new Option('-u, --username <username>', 'basic authentication username (stored in a Secret named after the source)'))
    .addOption(new Option('-p, --password <password>', 'basic authentication password'))
    .addOption(new Option('--secret-ref <name>', 'the name of an existing secret containing SSH or basic credentials'))
    .addOption(proxySecretRefOption())
    .addOption(new Option('--provider <provider>', `the Git provider: ${GIT_PROVIDERS.join('|')}`))
    .addOption(boolOption('--recurse-submodules', 'initialize and include Git submodules in the artifact'))
    .addOption(ignorePathsOption())
    .addOption(new Option('--sparse-checkout-paths <paths>', 'paths to check out (repeatable, or comma-separated)').argParser(listFlag))
    .addOption(fetchTimeoutOption());
  createOptions(cmd);
  return cmd.action(
    createAction<GitOptions>(io, gitRepositoryFrom, async (ctx, g, name, repo, o) => {
      const client = ctx.track(connect(g, io));
      ctx.progress.generate('generating GitRepository source');
      if (g.verbose) io.stdout.write(exportDocument(repo));
      if (!o.secretRef && (o.username || o.password)) {
        if (stringField(repo, 'spec', 'url')?.startsWith('http:')) {
          ctx.progress.warning('insecure configuration: credentials configured for an HTTP URL');
        }
        ctx.progress.action('applying secret with repository credentials');
        await client.apply(
          { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: g.namespace }, type: 'Opaque', stringData: { username: o.username ?? '', password: o.password ?? '' } },
          { fieldManager: CLI_FIELD_MANAGER, force: true },
        );
        (repo['spec'] as Record<string, unknown>)['secretRef'] = { name };
        ctx.progress.success('authentication configured');
      }
      const ready = await applyAndWait(ctx, client, g, repo, 'GitRepository source');
      ctx.progress.success('GitRepository source reconciliation completed');
      const revision = stringField(ready, 'status', 'artifact', 'revision');
      if (!revision) throw new CliError('GitRepository source reconciliation completed but no artifact was found');
      ctx.progress.success(`fetched revision: ${revision}`);
    }),
  );
}

/** What every create command shares: the name argument, the object built from the flags, and `--export`. */
function createAction<O extends { export?: boolean }>(
  io: CliIO,
  build: (name: string, namespace: string, o: O) => KubeObject,
  create: (ctx: ActionContext, g: Globals, name: string, obj: KubeObject, o: O) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return action(io, async (ctx) => {
    const g = globalsOf(ctx.cmd, io);
    const name = ctx.args[0] as string | undefined;
    if (!name) throw new CliError('name is required');
    checkName(name);
    const o = ctx.opts as unknown as O;
    const obj = build(name, g.namespace, o);
    if (o.export) {
      io.stdout.write(exportDocument(obj));
      return;
    }
    await create(ctx, g, name, obj, o);
  });
}

function ociCommand(io: CliIO): Command {
  const cmd = new Command('oci')
    .description('create or update an OCIRepository source')
    .argument('[name]', 'OCIRepository name')
    .addOption(new Option('--url <url>', 'the OCI repository URL, e.g. oci://ghcr.io/org/manifests/app'))
    .addOption(new Option('--tag <tag>', 'the OCI artifact tag'))
    .addOption(new Option('--tag-semver <range>', 'the OCI artifact tag semver range'))
    .addOption(new Option('--digest <digest>', 'the OCI artifact digest'))
    .addOption(new Option('--provider <provider>', `the OCI provider name: ${OCI_PROVIDERS.join('|')}`).default('generic'))
    .addOption(new Option('--secret-ref <name>', "the name of the Kubernetes image pull secret (type 'kubernetes.io/dockerconfigjson')"))
    .addOption(proxySecretRefOption())
    .addOption(new Option('--service-account <name>', 'the name of the Kubernetes service account that refers to an image pull secret'))
    .addOption(new Option('--cert-ref <name>', 'the name of a secret to use for TLS certificates'))
    .addOption(ignorePathsOption())
    .addOption(boolOption('--insecure', 'for registries that speak plain HTTP'))
    .addOption(new Option('--layer-selector <selector>', "the layer to use, as '<media-type>:<operation>' (extract or copy)"))
    .addOption(fetchTimeoutOption());
  createOptions(cmd);
  return cmd.action(
    createAction<OciOptions>(io, ociRepositoryFrom, async (ctx, g, _name, repo) => {
      const client = ctx.track(connect(g, io));
      const ready = await applyAndWait(ctx, client, g, repo, 'OCIRepository');
      ctx.progress.success('OCIRepository reconciliation completed');
      const revision = stringField(ready, 'status', 'artifact', 'revision');
      if (!revision) throw new CliError('no artifact was found');
      ctx.progress.success(`fetched revision: ${revision}`);
    }),
  );
}

function kustomizationCommand(io: CliIO): Command {
  const cmd = new Command('kustomization')
    .aliases(['ks'])
    .description('create or update a Kustomization')
    .argument('[name]', 'Kustomization name')
    .addOption(new Option('--source <source>', 'source that contains the manifests: [<kind>/]<name>[.<namespace>], kind GitRepository (default), OCIRepository or Bucket'))
    .addOption(new Option('--path <path>', 'path to the directory containing a kustomization.yaml file').default('./'))
    .addOption(boolOption('--prune', 'enable garbage collection'))
    .addOption(boolOption('--wait', 'enable health checking of all the applied resources'))
    .addOption(new Option('--health-check <kind/name.namespace>', "workload to be included in the health assessment, in the format '<kind>/<name>.<namespace>'").argParser(listFlag))
    .addOption(new Option('--health-check-timeout <duration>', 'timeout of health checking operations').argParser(durationFlag('--health-check-timeout')).default('2m0s'))
    .addOption(new Option('--depends-on <names>', "Kustomizations that must be ready first: '<name>' or '<namespace>/<name>' (repeatable, or comma-separated)").argParser(listFlag))
    .addOption(new Option('--service-account <name>', 'the name of the service account to impersonate when reconciling this Kustomization'))
    .addOption(new Option('--decryption-provider <provider>', 'decryption provider, sops'))
    .addOption(new Option('--decryption-secret <name>', 'the Kubernetes secret that holds the decryption keys'))
    .addOption(new Option('--target-namespace <namespace>', 'overrides the namespace of all objects reconciled by this Kustomization'))
    .addOption(new Option('--kubeconfig-secret-ref <name>', 'the Secret that holds a kubeconfig for a remote cluster'))
    .addOption(new Option('--retry-interval <duration>', 'the interval at which to retry a previously failed reconciliation').argParser(durationFlag('--retry-interval')));
  createOptions(cmd);
  return cmd.action(
    createAction<KsOptions>(io, kustomizationFrom, async (ctx, g, name, ks) => {
      ctx.progress.generate('generating Kustomization');
      if (g.verbose) io.stdout.write(exportDocument(ks));
      const client = ctx.track(connect(g, io));
      const ready = await applyAndWait(ctx, client, g, ks, 'Kustomization');
      ctx.progress.success(`Kustomization ${name} is ready`);
      ctx.progress.success(`applied revision ${stringField(ready, 'status', 'lastAppliedRevision') ?? ''}`);
    }),
  );
}

export function createCommand(io: CliIO): Command {
  const create = new Command('create').description('create or update sources and resources');
  const source = new Command('source').description('create or update sources');
  source.addCommand(gitCommand(io));
  source.addCommand(ociCommand(io));
  create.addCommand(source);
  create.addCommand(kustomizationCommand(io));
  return create;
}
