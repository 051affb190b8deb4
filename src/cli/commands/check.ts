/**
 * `flotilla check [--pre]`: is this cluster ready for Flotilla, and is Flotilla healthy on
 * it? The Kubernetes version (from /version), then (without --pre) the operator (its
 * Deployment, or the dev environment's health endpoint), the leader-election Lease, and
 * the CRDs with their stored versions. One ✔/✗ line per finding, a verdict at the end,
 * exit 1 when anything failed.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import semver from 'semver';
import { apiKinds } from '../../api/index.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { connect, DEV_DIR, globalsOf, withGlobals } from './globals.ts';
import { action, errorMessage, type ActionContext, type CliIO } from './io.ts';
import { humanDuration } from './events.ts';
import { OPERATOR_NAMESPACE, OPERATOR_SELECTOR } from './logs.ts';
import { field, numberField, stringField } from './status.ts';

/** The oldest Kubernetes Flotilla is tested on (the local control plane is 1.20). */
export const KUBERNETES_CONSTRAINT = '>=1.20.0-0';
export const LEADER_LEASE = 'flotilla-leader-election';

async function kubernetesCheck(ctx: ActionContext, client: KubeClient): Promise<boolean> {
  let gitVersion: string;
  try {
    gitVersion = stringField(await client.raw('GET', '/version'), 'gitVersion') ?? '';
  } catch (e) {
    ctx.progress.failure(`Kubernetes API call failed: ${errorMessage(e)}`);
    return false;
  }
  const v = semver.parse(gitVersion.replace(/^v/, ''), { loose: true }) ?? semver.coerce(gitVersion);
  if (!v) {
    ctx.progress.failure(`Kubernetes version can't be determined (${gitVersion || 'empty'})`);
    return false;
  }
  if (!semver.satisfies(v, KUBERNETES_CONSTRAINT, { includePrerelease: true })) {
    ctx.progress.failure(`Kubernetes version ${gitVersion} does not match ${KUBERNETES_CONSTRAINT}`);
    return false;
  }
  ctx.progress.success(`Kubernetes ${v.version} ${KUBERNETES_CONSTRAINT}`);
  return true;
}

export function deploymentReady(d: KubeObject): { ready: boolean; detail: string } {
  const want = numberField(d, 'spec', 'replicas') ?? 1;
  const observed = numberField(d, 'status', 'observedGeneration') ?? 0;
  const updated = numberField(d, 'status', 'updatedReplicas') ?? 0;
  const available = numberField(d, 'status', 'availableReplicas') ?? 0;
  if (observed < (d.metadata.generation ?? 0)) return { ready: false, detail: 'the latest generation is not rolled out yet' };
  if (updated < want || available < want) return { ready: false, detail: `${available}/${want} replicas available` };
  return { ready: true, detail: `${available}/${want} replicas available` };
}

interface DevEndpoints {
  health?: string;
}

async function operatorCheck(ctx: ActionContext, client: KubeClient, namespace: string, devDir: string): Promise<boolean> {
  const deployments = await client
    .list('apps/v1', 'Deployment', { namespace, labelSelector: OPERATOR_SELECTOR })
    .then((l) => l.items)
    .catch((e: unknown) => {
      ctx.progress.failure(`cannot list the operator's Deployments in ${namespace}: ${errorMessage(e)}`);
      return undefined;
    });
  if (deployments === undefined) return false;
  if (deployments.length > 0) {
    let ok = true;
    for (const d of deployments) {
      const r = deploymentReady(d);
      if (r.ready) ctx.progress.success(`${d.metadata.name}: deployment ready (${r.detail})`);
      else ctx.progress.failure(`${d.metadata.name}: deployment not ready: ${r.detail}`);
      ok &&= r.ready;
      const containers = field(d, 'spec', 'template', 'spec', 'containers');
      if (Array.isArray(containers)) for (const c of containers) ctx.progress.action(stringField(c, 'image') ?? '(no image)');
    }
    return ok;
  }
  const endpoints = await readFile(path.join(devDir, 'endpoints.json'), 'utf8').then(
    (t) => JSON.parse(t) as DevEndpoints,
    () => undefined,
  );
  if (!endpoints?.health) {
    ctx.progress.failure(`no operator found: no Deployment in the '${namespace}' namespace with the label selector '${OPERATOR_SELECTOR}', and no dev environment in ${devDir}`);
    return false;
  }
  const url = `${endpoints.health}/readyz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (res.ok) {
      ctx.progress.success(`operator (dev environment in ${devDir}): ready at ${endpoints.health}`);
      return true;
    }
    ctx.progress.failure(`operator (dev environment in ${devDir}): ${url} answered HTTP ${res.status}`);
  } catch (e) {
    ctx.progress.failure(`operator (dev environment in ${devDir}): ${url} is not answering (${errorMessage(e)}); is \`flotilla dev up\` running?`);
  }
  return false;
}

/** The lease is informative: the operator runs without leader election unless asked. */
async function leaderCheck(ctx: ActionContext, client: KubeClient, namespace: string): Promise<boolean> {
  const lease = await client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name: LEADER_LEASE }).catch(() => undefined);
  if (!lease) {
    ctx.progress.action(`no leader election Lease ${namespace}/${LEADER_LEASE}: the operator runs without --enable-leader-election`);
    return true;
  }
  const holder = stringField(lease, 'spec', 'holderIdentity');
  const renewed = Date.parse(stringField(lease, 'spec', 'renewTime') ?? stringField(lease, 'spec', 'acquireTime') ?? '');
  const durationMs = (numberField(lease, 'spec', 'leaseDurationSeconds') ?? 0) * 1000;
  const now = ctx.io.now().getTime();
  if (!holder) {
    ctx.progress.failure(`leader election: Lease ${namespace}/${LEADER_LEASE} has no holder`);
    return false;
  }
  if (Number.isNaN(renewed) || renewed + durationMs < now) {
    ctx.progress.failure(`leader election: the lease of ${holder} expired${Number.isNaN(renewed) ? '' : ` ${humanDuration(now - renewed - durationMs)} ago`}`);
    return false;
  }
  ctx.progress.success(`leader: ${holder} (lease renewed ${humanDuration(now - renewed)} ago)`);
  return true;
}

async function crdsCheck(ctx: ActionContext, client: KubeClient): Promise<boolean> {
  let crds: KubeObject[];
  try {
    crds = (await client.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition')).items;
  } catch (e) {
    ctx.progress.failure(`cannot list CRDs: ${errorMessage(e)}`);
    return false;
  }
  const byName = new Map(crds.map((c) => [c.metadata.name, c]));
  let ok = true;
  for (const api of [...apiKinds].sort((a, b) => (`${a.plural}.${a.group}` < `${b.plural}.${b.group}` ? -1 : 1))) {
    const name = `${api.plural}.${api.group}`;
    const crd = byName.get(name);
    if (!crd) {
      ctx.progress.failure(`${name} not found`);
      ok = false;
      continue;
    }
    const stored = field(crd, 'status', 'storedVersions');
    const versions = field(crd, 'spec', 'versions');
    const served = Array.isArray(versions) ? versions.filter((v) => field(v, 'served') === true).map((v) => stringField(v, 'name') ?? '') : [];
    if (!served.includes(api.version)) {
      ctx.progress.failure(`${name}: version ${api.version} is not served (served: ${served.join(', ') || 'none'})`);
      ok = false;
    } else if (Array.isArray(stored) && stored.length > 0) {
      ctx.progress.success(`${name}/${String(stored[stored.length - 1])}`);
    } else {
      ctx.progress.failure(`no stored versions for ${name}`);
      ok = false;
    }
  }
  return ok;
}

export function checkCommand(io: CliIO): Command {
  const cmd = new Command('check')
    .description('check the prerequisites and the health of the installation')
    .addOption(new Option('--pre', 'only run pre-installation checks'))
    .addOption(new Option('--flux-namespace <namespace>', 'the namespace the operator runs in').default(OPERATOR_NAMESPACE))
    .addOption(new Option('--dev-dir <dir>', 'the dev environment to check when no operator Deployment exists').default(DEV_DIR));
  withGlobals(cmd, { allNamespaces: false });
  return cmd.action(
    action(io, async (ctx) => {
      const g = globalsOf(ctx.cmd, io);
      const client = ctx.track(connect(g, io));
      const fluxNamespace = ctx.opts['fluxNamespace'] as string;
      const devDir = path.resolve(io.cwd, ctx.opts['devDir'] as string);
      ctx.progress.action('checking prerequisites');
      let ok = await kubernetesCheck(ctx, client);
      if (ctx.opts['pre'] === true) {
        if (!ok) return 1;
        ctx.progress.success('prerequisites checks passed');
        return 0;
      }
      ctx.progress.action('checking operator');
      ok = (await operatorCheck(ctx, client, fluxNamespace, devDir)) && ok;
      ok = (await leaderCheck(ctx, client, fluxNamespace)) && ok;
      ctx.progress.action('checking crds');
      ok = (await crdsCheck(ctx, client)) && ok;
      if (!ok) {
        ctx.progress.failure('check failed');
        return 1;
      }
      ctx.progress.success('all checks passed');
      return 0;
    }),
  );
}
