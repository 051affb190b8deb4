/**
 * Runs an example of examples/ the way its README tells a user to: its repositories are
 * pushed to a Git server, the objects of its flux/ folder are applied, and the run waits
 * until every Flux object is Ready, including the ones its Kustomizations create.
 *
 * Layout of an example (examples/<name>/):
 *   flux/*.yaml         what the user applies, in namespace flux-system
 *   repo/               the one Git repository, published as `<name>`
 *   repos/<repo>/       or several, each published as `<repo>`
 * A GitRepository names its repository by URL, `https://git.example.com/<repo>.git`; that
 * placeholder is rewritten to the test's Git server in flux/ and in the repositories' files
 * (a platform repository declares its tenants' GitRepositories).
 *
 * flux-system becomes a namespace of the test's own, so that examples do not collide with
 * other tests on the shared control plane.
 */
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { FakeKubelet } from '../../src/cli/dev/fake-kubelet.ts';
import type { RawOptions } from '../../src/config/config.ts';
import { packageRoot } from '../../src/config/paths.ts';
import type { KubeClient } from '../../src/runtime/client/client.ts';
import { isKubeObject, type KubeObject, type ObjectRef } from '../../src/runtime/client/objects.ts';
import { silentLogger } from '../../src/runtime/log/logger.ts';
import type { Condition } from '../../src/runtime/reconcile/conditions.ts';
import { eventually, useCluster, type TestCluster } from '../harness/cluster.ts';
import { createRepo, startGitHttpServer, type GitHttpServer } from '../harness/git-server.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

/** Where the examples' GitRepository URLs point until a user (or this harness) changes them. */
export const GIT_PLACEHOLDER = 'https://git.example.com/';
/** The namespace every flux/ object of an example is written for. */
export const EXAMPLE_NAMESPACE = 'flux-system';
const FIELD_MANAGER = 'examples-e2e';
const FLUX_GROUP = /\.toolkit\.fluxcd\.io$/;

export interface ExampleRepo {
  name: string;
  /** Path → content, relative to the repository root. */
  files: Record<string, string>;
}

export interface Example {
  name: string;
  dir: string;
  repos: ExampleRepo[];
  /** The objects of flux/*.yaml, files in name order. */
  fluxObjects: KubeObject[];
}

/** A Flux object as the harness reads it back. */
export interface FluxObject extends KubeObject {
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    inventory?: { entries?: Array<{ id: string; v: string }> };
    artifact?: { revision: string };
    lastAppliedRevision?: string;
    [k: string]: unknown;
  };
}

export function exampleDir(name: string): string {
  return path.join(packageRoot(), 'examples', name);
}

async function readFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    files[path.relative(dir, full).split(path.sep).join('/')] = await readFile(full, 'utf8');
  }
  return files;
}

export function parseManifests(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const o: unknown = doc.toJS();
    if (o === null || o === undefined) continue;
    if (!isKubeObject(o)) throw new Error(`${source}: a document is not a Kubernetes object`);
    out.push(o);
  }
  return out;
}

/** Reads examples/<name>: its flux/ objects and its repositories. */
export async function loadExample(name: string): Promise<Example> {
  const dir = exampleDir(name);
  const fluxDir = path.join(dir, 'flux');
  const fluxObjects: KubeObject[] = [];
  for (const f of (await readdir(fluxDir)).filter((x) => x.endsWith('.yaml') || x.endsWith('.yml')).sort()) {
    fluxObjects.push(...parseManifests(await readFile(path.join(fluxDir, f), 'utf8'), `examples/${name}/flux/${f}`));
  }
  const top = await readdir(dir);
  const repos: ExampleRepo[] = [];
  if (top.includes('repo')) repos.push({ name, files: await readFiles(path.join(dir, 'repo')) });
  if (top.includes('repos')) {
    for (const r of (await readdir(path.join(dir, 'repos'))).sort()) repos.push({ name: r, files: await readFiles(path.join(dir, 'repos', r)) });
  }
  return { name, dir, repos, fluxObjects };
}

/** Deep copy of `value` with `rewrite` applied to every string and to every `namespace` key's value. */
function rewriteDeep(value: unknown, rewrite: (s: string, key: string | undefined) => string, key?: string): unknown {
  if (typeof value === 'string') return rewrite(value, key);
  if (Array.isArray(value)) return value.map((v) => rewriteDeep(v, rewrite));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteDeep(v, rewrite, k)]));
  }
  return value;
}

/**
 * The flux/ objects as the test applies them: in `namespace` instead of flux-system (also
 * in references such as `sourceRef.namespace`), with Git URLs on `gitBaseUrl`, and with
 * `labels` added.
 */
export function prepareFluxObjects(objects: readonly KubeObject[], o: { namespace: string; gitBaseUrl: string; labels?: Record<string, string> }): KubeObject[] {
  const base = o.gitBaseUrl.endsWith('/') ? o.gitBaseUrl : `${o.gitBaseUrl}/`;
  return objects.map((obj) => {
    if (obj.metadata.namespace !== EXAMPLE_NAMESPACE) {
      throw new Error(`${obj.kind}/${obj.metadata.name}: objects in flux/ belong to namespace ${EXAMPLE_NAMESPACE}, not ${String(obj.metadata.namespace)}`);
    }
    const copy = rewriteDeep(obj, (s, key) => {
      if (key === 'namespace' && s === EXAMPLE_NAMESPACE) return o.namespace;
      return s.startsWith(GIT_PLACEHOLDER) ? base + s.slice(GIT_PLACEHOLDER.length) : s;
    }) as KubeObject;
    if (o.labels) copy.metadata.labels = { ...copy.metadata.labels, ...o.labels };
    return copy;
  });
}

/** Flux's apply order: Secrets and ConfigMaps, then sources, then what uses them. */
function applyRank(o: KubeObject): number {
  if (o.apiVersion === 'v1') return 0;
  if (o.apiVersion.startsWith('source.toolkit.fluxcd.io/')) return 1;
  return 2;
}

function refOf(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
}

export function describe(r: ObjectRef): string {
  return `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

export function readyCondition(o: FluxObject | undefined): Condition | undefined {
  return o?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Ready=True for the current generation. */
export function isReady(o: FluxObject | undefined): boolean {
  return readyCondition(o)?.status === 'True' && o?.status?.observedGeneration === o?.metadata.generation;
}

/** Flux inventory ids are `<namespace>_<name>_<group>_<kind>`. */
export function inventoryRefs(o: FluxObject): ObjectRef[] {
  return (o.status?.inventory?.entries ?? []).map((e) => {
    const [namespace = '', name = '', group = '', kind = ''] = e.id.split('_');
    return { apiVersion: group ? `${group}/${e.v}` : e.v, kind, name, namespace: namespace || undefined };
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ExampleRunOptions {
  cluster: TestCluster;
  /** Folder name under examples/. */
  example: string;
  /** Prefix of the test namespace that stands in for flux-system. */
  namespacePrefix?: string;
  /** Operator flags (RawOptions keys of src/config/config.ts), e.g. lockdown or watchAllNamespaces. */
  operatorFlags?: RawOptions;
  /** Labels added to every flux/ object (sharding when the operator watches all namespaces). */
  labels?: Record<string, string>;
  /** A last change to a flux/ object before it is applied. */
  customize?: (o: KubeObject) => void;
  /** Runs after the namespace exists and before anything is applied (e.g. identities the chart would create). */
  prepare?: (namespace: string) => Promise<void>;
}

/**
 * One example, applied: its Git server, its operator, what it applied and what its
 * Kustomizations created. `teardown()` deletes it as a user would (Kustomizations first,
 * so that their garbage collection runs); `dispose()` releases everything, also on failure.
 */
export class ExampleRun {
  /** Every Flux object seen, flux/ objects first, then children found in inventories. */
  readonly fluxRefs: ObjectRef[] = [];
  /** Namespaces the example's Kustomizations created (Namespace objects in inventories). */
  readonly createdNamespaces = new Set<string>();
  private disposed = false;
  private tornDown = false;

  private constructor(
    readonly example: Example,
    readonly namespace: string,
    readonly client: KubeClient,
    readonly git: GitHttpServer,
    private readonly gitRoot: string,
    readonly operator: TestOperator,
    readonly applied: KubeObject[],
  ) {
    this.fluxRefs.push(...applied.filter((o) => FLUX_GROUP.test(o.apiVersion.split('/')[0] ?? '')).map(refOf));
  }

  static async start(o: ExampleRunOptions): Promise<ExampleRun> {
    const c = o.cluster;
    const example = await loadExample(o.example);
    const namespace = await c.namespace(o.namespacePrefix ?? `ex-${o.example}`);
    await o.prepare?.(namespace);
    const gitRoot = await mkdtemp(path.join(os.tmpdir(), `example-${o.example}-git-`));
    let git: GitHttpServer | undefined;
    let operator: TestOperator | undefined;
    try {
      git = await startGitHttpServer({ root: gitRoot });
      const base = `${git.baseUrl}/`;
      for (const repo of example.repos) {
        const files = Object.fromEntries(Object.entries(repo.files).map(([p, text]) => [p, text.split(GIT_PLACEHOLDER).join(base)]));
        await createRepo(gitRoot, repo.name, files, { message: `${repo.name}: from examples/${o.example}` });
      }
      const objects = prepareFluxObjects(example.fluxObjects, { namespace, gitBaseUrl: git.baseUrl, ...(o.labels ? { labels: o.labels } : {}) });
      for (const obj of objects) o.customize?.(obj);
      operator = await startTestOperator(c.kubeconfigPath, namespace, o.operatorFlags ?? {});
      const ordered = [...objects].sort((a, b) => applyRank(a) - applyRank(b));
      for (const obj of ordered) await c.client.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
      return new ExampleRun(example, namespace, c.client, git, gitRoot, operator, ordered);
    } catch (e) {
      await operator?.stop();
      await git?.close();
      await rm(gitRoot, { recursive: true, force: true });
      throw e;
    }
  }

  /** Publishes one more repository on this example's Git server; returns its clone URL. */
  async addRepo(name: string, files: Record<string, string>): Promise<string> {
    await createRepo(this.gitRoot, name, files, { message: `${name}: added by the test` });
    return this.git.url(name);
  }

  /** Applies an object the test adds; Flux objects among them are deleted by teardown() too. */
  async applyExtra(obj: KubeObject): Promise<void> {
    await this.client.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
    if (FLUX_GROUP.test(obj.apiVersion.split('/')[0] ?? '')) this.fluxRefs.push(refOf(obj));
  }

  /**
   * Waits until every Flux object is Ready: the applied ones, and those that Ready
   * Kustomizations list in their inventory (a platform repository creating tenants' objects).
   * Fails with every object's Ready message when the time is up.
   */
  async waitAllReady(timeoutMs = 180_000): Promise<Map<string, FluxObject>> {
    const deadline = Date.now() + timeoutMs;
    const ready = new Map<string, FluxObject>();
    const last = new Map<string, FluxObject | undefined>();
    for (;;) {
      for (const ref of [...this.fluxRefs]) {
        const key = describe(ref);
        if (ready.has(key)) continue;
        const live = await this.client.get<FluxObject>(ref);
        last.set(key, live);
        if (!live || !isReady(live)) continue;
        ready.set(key, live);
        for (const child of inventoryRefs(live)) {
          if (child.kind === 'Namespace') this.createdNamespaces.add(child.name);
          const group = child.apiVersion.split('/')[0] ?? '';
          if (FLUX_GROUP.test(group) && !this.fluxRefs.some((r) => describe(r) === describe(child))) this.fluxRefs.push(child);
        }
      }
      if (ready.size === this.fluxRefs.length) return ready;
      if (Date.now() > deadline) {
        const lines = this.fluxRefs.map((r) => {
          const o = last.get(describe(r));
          const cond = readyCondition(o);
          const state = !o ? 'not found' : cond ? `Ready=${cond.status} ${cond.reason}: ${cond.message}` : 'no Ready condition yet';
          return `  ${describe(r)}: ${ready.has(describe(r)) ? 'Ready' : state}`;
        });
        throw new Error(`example ${this.example.name}: not every Flux object became Ready within ${timeoutMs / 1000}s\n${lines.join('\n')}`);
      }
      await sleep(250);
    }
  }

  /**
   * Deletes every Flux object while the operator still runs, one at a time and children
   * before their parents (Kustomizations first, then sources), as a careful user would:
   * a deleted Kustomization with `prune: true` garbage-collects what it applied, and a
   * tenant's Kustomization needs its service account's RoleBinding, which its parent
   * applied, to do so. Returns the objects that did not go away in time (their finalizers
   * are then removed so that the test namespace can be deleted).
   */
  async teardown(timeoutMs = 60_000): Promise<string[]> {
    if (this.tornDown) return [];
    this.tornDown = true;
    const stuck: string[] = [];
    // parents first, as a user offboards: a parent that still runs would re-create a child
    // deleted before it (that is its job); its garbage collection deletes the children
    const order = [...this.fluxRefs].sort((a, b) => Number(b.kind === 'Kustomization') - Number(a.kind === 'Kustomization'));
    for (const ref of order) {
      await this.client.delete(ref);
      const deadline = Date.now() + timeoutMs;
      while ((await this.client.get(ref)) !== undefined) {
        if (Date.now() > deadline) {
          stuck.push(describe(ref));
          await this.client.patch(ref, { metadata: { finalizers: null } }).catch(() => undefined);
          break;
        }
        await sleep(250);
      }
    }
    return stuck;
  }

  /** Releases everything: Flux objects, created namespaces (force-deleting pods no kubelet will stop), the operator, the Git server. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await this.teardown().catch(() => undefined);
      await removeNamespaces(this.client, [...this.createdNamespaces]);
    } finally {
      await this.operator.stop();
      await this.git.close();
      await rm(this.gitRoot, { recursive: true, force: true });
    }
  }
}

/**
 * Deletes namespaces and waits (bounded) until they are gone. Pods bound to the fake node
 * would stay Terminating forever (no kubelet confirms their end), so they are deleted with
 * a grace period of zero.
 */
export async function removeNamespaces(client: KubeClient, names: readonly string[], timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let left = [...names];
  for (const ns of left) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
  while (left.length) {
    const still: string[] = [];
    for (const ns of left) {
      if (!(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns }))) continue;
      still.push(ns);
      const pods = await client.list('v1', 'Pod', { namespace: ns }).catch(() => ({ items: [] as KubeObject[] }));
      for (const p of pods.items) {
        await client
          .raw('DELETE', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(p.metadata.name)}`, {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            gracePeriodSeconds: 0,
          })
          .catch(() => undefined);
      }
    }
    left = still;
    if (!left.length || Date.now() > deadline) break;
    await sleep(500);
  }
  return left;
}

/**
 * `useCluster()` plus a fake kubelet when this file runs alone (`node --test` of one file
 * starts its own control plane; test/run.ts runs a kubelet for the shared one). Without
 * it, Deployments with replicas never become Available. Call at the top of the file.
 */
export function useExampleCluster(): { get(): TestCluster } {
  let kubelet: FakeKubelet | undefined;
  // registered before useCluster's hooks: `after` hooks run in order, and the kubelet must
  // stop before a control plane of this file's own does
  after(async () => {
    await kubelet?.stop();
  });
  const cluster = useCluster();
  before(async () => {
    if (process.env['FLOTILLA_TEST_KUBECONFIG']) return;
    // Node 20 runs a file's top-level before hooks concurrently: wait for useCluster's
    const c = await eventually(() => {
      try {
        return cluster.get();
      } catch {
        return undefined;
      }
    }, 180_000, 'the control plane');
    kubelet = new FakeKubelet(c.client, silentLogger());
    await kubelet.start();
  });
  return cluster;
}
