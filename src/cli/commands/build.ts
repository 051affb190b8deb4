/**
 * `flotilla build kustomization NAME --path DIR` and `flotilla diff kustomization NAME --path DIR`:
 * the exact build the operator would apply (the same pipeline: generation, patches,
 * substitution from the cluster's ConfigMaps/Secrets), with SOPS Secrets masked; and a
 * server-side dry-run of it against the cluster, object by object, plus what would be pruned.
 * `diff` exits 0 when nothing differs, 1 when something does, 2 on error (Flux's contract).
 */
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { toolPaths } from '../../config/config.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import { describeRef, refOf, type KubeObject } from '../../runtime/client/objects.ts';
import { buildKustomization } from '../../services/kustomize/pipeline.ts';
import { entriesOf, diffInventory, parseEntry } from '../../services/ssa/inventory.ts';
import { normalizeForApply } from '../../services/ssa/normalize.ts';
import type { KustomizationSpec } from '../../api/kustomize.v1.ts';
import { connect, globalsOf, withGlobals } from './globals.ts';
import { action, CliError, errorMessage, type ActionContext, type CliIO } from './io.ts';

const NAME_LABEL = 'kustomize.toolkit.fluxcd.io/name';
const NAMESPACE_LABEL = 'kustomize.toolkit.fluxcd.io/namespace';

interface KustomizationLike extends KubeObject {
  spec: KustomizationSpec;
  status?: { inventory?: { entries?: Array<{ id: string; v: string }> } };
}

async function localBuild(ctx: ActionContext, io: CliIO, name: string): Promise<{ client: KubeClient; ks: KustomizationLike; objects: KubeObject[] }> {
  const g = globalsOf(ctx.cmd, io);
  const dir = ctx.opts['path'];
  if (typeof dir !== 'string') throw new CliError('--path is required: the local directory to build');
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) throw new CliError(`--path '${dir}' is not a directory`);
  const client = ctx.track(connect(g, io));
  const ks = await client.get<KustomizationLike>({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: g.namespace, name });
  if (!ks) throw new CliError(`Kustomization '${g.namespace}/${name}' not found`);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'flotilla-build-'));
  try {
    await cp(dir, path.join(tmp, 'src'), { recursive: true, dereference: false });
    const objects = await buildKustomization({
      root: path.join(tmp, 'src'),
      spec: { ...ks.spec, path: './' },
      namespace: g.namespace,
      client,
      kubectl: toolPaths(ctx.io.env as NodeJS.ProcessEnv).kubectl,
      noRemoteBases: false,
      strictSubstitution: true,
      secrets: 'mask',
    });
    const labels = { [NAME_LABEL]: name, [NAMESPACE_LABEL]: g.namespace };
    return { client, ks, objects: objects.map((o) => normalizeForApply(o, labels)) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** What a dry-run answer and the live object share, minus what the server alone sets. */
function comparable(o: KubeObject | undefined): string {
  if (!o) return '';
  const { metadata, status: _status, ...rest } = o as KubeObject & { status?: unknown };
  const {
    managedFields: _mf, resourceVersion: _rv, generation: _g, uid: _uid, creationTimestamp: _ct, selfLink: _sl,
    ...meta
  } = metadata as Record<string, unknown>;
  const annotations = { ...((meta['annotations'] as Record<string, string> | undefined) ?? {}) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  if (Object.keys(annotations).length) meta['annotations'] = annotations;
  else delete meta['annotations'];
  return stringify({ ...rest, metadata: meta }, { sortMapEntries: true });
}

function kustomizationLeaf(io: CliIO, verb: 'build' | 'diff'): Command {
  const cmd = new Command('kustomization')
    .alias('ks')
    .description(verb === 'build' ? 'print the objects the operator would apply for a local directory' : 'diff a local build against the cluster')
    .argument('<name>', 'Kustomization name')
    .addOption(new Option('--path <dir>', 'local directory holding what spec.path points at'));
  withGlobals(cmd, { allNamespaces: false });
  return cmd.action(
    action(io, async (ctx) => {
      const name = ctx.args[0] as string;
      if (verb === 'build') {
        const { objects } = await localBuild(ctx, io, name);
        for (const o of objects) io.stdout.write(`---\n${stringify(o)}`);
        return;
      }
      try {
        return await diff(ctx, io, name);
      } catch (e) {
        ctx.progress.failure(errorMessage(e));
        return 2;
      }
    }),
  );
}

async function diff(ctx: ActionContext, io: CliIO, name: string): Promise<number> {
  const { client, ks, objects } = await localBuild(ctx, io, name);
  let differs = 0;
  for (const o of objects) {
    const ref = { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
    const live = await client.get(ref);
    const dry = await client.apply(o, { fieldManager: 'kustomize-controller', force: true, dryRun: true });
    if (!live) {
      differs++;
      ctx.out(`► ${describeRef(refOf(o))} created`);
      continue;
    }
    const before = comparable(live);
    const after = comparable(dry);
    if (before === after) continue;
    differs++;
    ctx.out(`► ${describeRef(refOf(o))} drifted`);
    ctx.out(createTwoFilesPatch(`${describeRef(refOf(o))} (cluster)`, `${describeRef(refOf(o))} (local)`, before, after, '', '', { context: 3 }).split('\n').slice(2).join('\n'));
  }
  const stale = diffInventory(ks.status?.inventory?.entries ?? [], entriesOf(objects));
  if (ks.spec.prune) {
    for (const e of stale) {
      const r = parseEntry(e);
      differs++;
      ctx.out(`► ${describeRef(r)} deleted`);
    }
  }
  if (!differs) ctx.progress.success('no changes');
  return differs ? 1 : 0;
}

export function buildCommand(io: CliIO): Command {
  return new Command('build').description('build a Kustomization locally, as the operator would').addCommand(kustomizationLeaf(io, 'build'));
}

export function diffCommand(io: CliIO): Command {
  return new Command('diff').description('compare a local build of a Kustomization with the cluster').addCommand(kustomizationLeaf(io, 'diff'));
}
