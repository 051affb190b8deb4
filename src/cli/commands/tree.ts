/**
 * `flotilla tree kustomization <name>`: what a Kustomization applied (its
 * `status.inventory`) as a tree, descending into the Kustomizations it applied and into
 * the objects of the HelmReleases it applied (their `status.inventory`, else the release
 * manifest in Helm's storage Secret), printed like `flux tree`.
 */
import { gunzipSync } from 'node:zlib';
import { Command, Option } from 'commander';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { connect, globalsOf, withGlobals } from './globals.ts';
import { toGoYaml } from './go-yaml.ts';
import { action, CliError, type CliIO } from './io.ts';
import { cliKindOf } from './kinds.ts';
import { getObject } from './lookup.ts';
import { field, numberField, stringField } from './status.ts';

const KUSTOMIZE_GROUP = 'kustomize.toolkit.fluxcd.io';
const HELM_GROUP = 'helm.toolkit.fluxcd.io';
const FLUX_GROUP_SUFFIX = 'toolkit.fluxcd.io';

export interface ObjMetadata {
  namespace: string;
  name: string;
  group: string;
  kind: string;
}

export interface TreeNode {
  resource: ObjMetadata;
  resources: TreeNode[];
}

/**
 * An inventory id, `<namespace>_<name>_<group>_<kind>`, as Flux's inventories (cli-utils)
 * write it; a `:` in a name (RBAC objects) is stored as `__`.
 */
export function parseInventoryId(id: string): ObjMetadata {
  const bad = (): CliError => new CliError(`unable to parse stored object metadata: ${id}`);
  const first = id.indexOf('_');
  if (first < 0) throw bad();
  const namespace = id.slice(0, first);
  let rest = id.slice(first + 1);
  const kindAt = rest.lastIndexOf('_');
  if (kindAt < 0) throw bad();
  const kind = rest.slice(kindAt + 1);
  rest = rest.slice(0, kindAt);
  const groupAt = rest.lastIndexOf('_');
  if (groupAt < 0) throw bad();
  const group = rest.slice(groupAt + 1);
  const name = rest.slice(0, groupAt).replaceAll('__', ':');
  if (name.includes('_') || name === '' || kind === '') throw bad();
  return { namespace, name, group, kind };
}

export function formatObjMetadata(o: ObjMetadata): string {
  return o.namespace ? `${o.kind}/${o.namespace}/${o.name}` : `${o.kind}/${o.name}`;
}

/** The tree as `flux tree` prints it, ending with a newline. */
export function printTree(root: TreeNode): string {
  const items = (nodes: TreeNode[], prefix: string): string => {
    let out = '';
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      out += `${prefix}${last ? '└── ' : '├── '}${formatObjMetadata(n.resource)}\n`;
      if (n.resources.length > 0) out += items(n.resources, prefix + (last ? '    ' : '│   '));
    });
    return out;
  };
  return `${formatObjMetadata(root.resource)}\n${items(root.resources, '')}`;
}

/** The JSON shape of Flux's tree output (cli-utils ObjMetadata field names). */
function treeJson(n: TreeNode): Record<string, unknown> {
  const resource = { Namespace: n.resource.namespace, Name: n.resource.name, GroupKind: { Group: n.resource.group, Kind: n.resource.kind } };
  return n.resources.length ? { resource, resources: n.resources.map(treeJson) } : { resource };
}

function inventoryEntries(obj: KubeObject): ObjMetadata[] | undefined {
  const entries = field(obj, 'status', 'inventory', 'entries');
  if (!Array.isArray(entries)) return undefined;
  return entries.flatMap((e: unknown) => {
    const id = stringField(e, 'id');
    return id ? [parseInventoryId(id)] : [];
  });
}

/** The objects of a HelmRelease's current release, from Helm's storage Secret. */
async function helmStorageObjects(client: KubeClient, hr: KubeObject): Promise<ObjMetadata[]> {
  const storageNamespace = stringField(hr, 'status', 'storageNamespace');
  const history = field(hr, 'status', 'history');
  const latest: unknown = Array.isArray(history) ? history[0] : undefined;
  const releaseName = stringField(latest, 'name');
  const version = numberField(latest, 'version');
  if (!storageNamespace || !releaseName || version === undefined) return [];
  const secretName = `sh.helm.release.v1.${releaseName}.v${version}`;
  const secret = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: storageNamespace, name: secretName });
  if (!secret) return [];
  const data = stringField(secret, 'data', 'release');
  const where = `HelmRelease '${hr.metadata.namespace ?? ''}/${hr.metadata.name}'`;
  if (!data) throw new CliError(`failed to decode the Helm storage object for ${where}`);
  // the Secret's value is base64 of Helm's own base64 of a gzipped JSON release
  let bytes = Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  let manifest: string;
  try {
    manifest = stringField(JSON.parse(bytes.toString('utf8')), 'manifest') ?? '';
  } catch (e) {
    throw new CliError(`failed to decode the Helm storage object for ${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const releaseNamespace = stringField(latest, 'namespace') ?? hr.metadata.namespace ?? '';
  const out: ObjMetadata[] = [];
  for (const doc of parseAllDocuments(manifest)) {
    const o: unknown = doc.toJS();
    const apiVersion = stringField(o, 'apiVersion');
    const kind = stringField(o, 'kind');
    const name = stringField(o, 'metadata', 'name');
    if (!apiVersion || !kind || !name) continue;
    let namespace = stringField(o, 'metadata', 'namespace') ?? '';
    if (!namespace) {
      const namespaced = await client.resource(apiVersion, kind).then((r) => r.namespaced, () => false);
      if (namespaced) namespace = releaseNamespace;
    }
    const slash = apiVersion.indexOf('/');
    out.push({ namespace, name, group: slash < 0 ? '' : apiVersion.slice(0, slash), kind });
  }
  return out;
}

async function helmReleaseObjects(client: KubeClient, ref: ObjMetadata): Promise<ObjMetadata[]> {
  const k = cliKindOf('HelmRelease');
  if (!k) return [];
  const hr = await getObject(client, k, ref.namespace, ref.name);
  if (field(hr, 'spec', 'kubeConfig') !== undefined) return [];
  return inventoryEntries(hr) ?? helmStorageObjects(client, hr);
}

/** Adds the inventory of a Kustomization to `node`, recursing into what it applied. */
export async function treeKustomization(client: KubeClient, node: TreeNode, ks: KubeObject, compact: boolean): Promise<void> {
  const keep = (o: ObjMetadata): boolean => !compact || o.group.includes(FLUX_GROUP_SUFFIX);
  const remote = field(ks, 'spec', 'kubeConfig') !== undefined;
  for (const entry of inventoryEntries(ks) ?? []) {
    if (!keep(entry)) continue;
    const isKustomization = entry.group === KUSTOMIZE_GROUP && entry.kind === 'Kustomization';
    if (isKustomization && entry.namespace === ks.metadata.namespace && entry.name === ks.metadata.name) continue;
    const child: TreeNode = { resource: entry, resources: [] };
    node.resources.push(child);
    // objects on a remote cluster are not readable with this kubeconfig
    if (remote) continue;
    if (entry.group === HELM_GROUP && entry.kind === 'HelmRelease') {
      for (const o of await helmReleaseObjects(client, entry)) if (keep(o)) child.resources.push({ resource: o, resources: [] });
    }
    if (isKustomization) {
      const k = cliKindOf('Kustomization');
      if (!k) continue;
      const nested = await client.get({ apiVersion: `${KUSTOMIZE_GROUP}/v1`, kind: 'Kustomization', namespace: entry.namespace, name: entry.name });
      if (!nested) throw new CliError(`failed to find object: Kustomization '${entry.namespace}/${entry.name}' not found`);
      await treeKustomization(client, child, nested, compact);
    }
  }
}

export function treeCommand(io: CliIO): Command {
  const tree = new Command('tree').description('print the resources a Flux object reconciles, as a tree');
  const ks = new Command('kustomization')
    .aliases(['ks'])
    .description('print the resource inventory of a Kustomization')
    .argument('<name>', 'Kustomization name')
    .addOption(new Option('--compact', 'list Flux resources only'))
    .addOption(new Option('-o, --output <format>', 'json or yaml instead of the tree').choices(['json', 'yaml']));
  withGlobals(ks, { allNamespaces: false });
  ks.action(
    action(io, async (ctx) => {
      const g = globalsOf(ctx.cmd, io);
      const client = ctx.track(connect(g, io));
      const k = cliKindOf('Kustomization');
      if (!k) throw new CliError('Kustomization is not a known kind');
      const root = await getObject(client, k, g.namespace, ctx.args[0] as string);
      const node: TreeNode = { resource: { namespace: root.metadata.namespace ?? '', name: root.metadata.name, group: KUSTOMIZE_GROUP, kind: 'Kustomization' }, resources: [] };
      await treeKustomization(client, node, root, ctx.opts['compact'] === true);
      const format = ctx.opts['output'] as string | undefined;
      if (format === 'json') io.stdout.write(`${JSON.stringify(treeJson(node), null, 2)}\n`);
      else if (format === 'yaml') io.stdout.write(`${toGoYaml(treeJson(node))}\n`);
      else io.stdout.write(`${printTree(node)}\n`);
    }),
  );
  tree.addCommand(ks);
  return tree;
}
