/**
 * `flotilla suspend|resume <kind> <name...>|--all`: sets or clears `spec.suspend` with a
 * merge patch, as Flux's CLI does. `resume` then waits for the controller to reconcile
 * the resumed object (by default when one name is given; `--wait` for more) and reports
 * each outcome; any failure exits non-zero.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { connect, globalsOf, withGlobals, type Globals } from './globals.ts';
import { action, CliError, errorMessage, type ActionContext, type CliIO } from './io.ts';
import { apiOf, type CliKind } from './kinds.ts';
import { listKind, refFor } from './lookup.ts';
import { CLI_FIELD_MANAGER } from './reconcile.ts';
import { leafCommand, verbTree, waitSettled } from './verbs.ts';

type Verb = 'suspend' | 'resume';

interface Target {
  name: string;
  obj: KubeObject | undefined;
}

async function targets(client: KubeClient, k: CliKind, g: Globals, names: string[], all: boolean): Promise<Target[]> {
  if (all) {
    const items = await listKind(client, k, { namespace: g.namespace });
    if (items.length === 0) throw new CliError(`no ${apiOf(k).kind} objects found in "${g.namespace}" namespace`);
    return items.map((obj) => ({ name: obj.metadata.name, obj }));
  }
  const unique = [...new Set(names)];
  return Promise.all(unique.map(async (name) => ({ name, obj: await client.get(refFor(k, g.namespace, name)) })));
}

async function patchSuspend(client: KubeClient, k: CliKind, g: Globals, name: string, suspend: boolean): Promise<KubeObject> {
  // resume removes the field (null in a merge patch), leaving the spec as a user would write it
  return client.patch(refFor(k, g.namespace, name), { spec: { suspend: suspend ? true : null } }, { type: 'merge', fieldManager: CLI_FIELD_MANAGER });
}

async function runSuspend(ctx: ActionContext, k: CliKind, verb: Verb): Promise<number> {
  const g = globalsOf(ctx.cmd, ctx.io);
  const names = (ctx.args[0] as string[] | undefined) ?? [];
  const all = ctx.opts['all'] === true;
  if (names.length === 0 && !all) throw new CliError(`${k.humanKind} name is required`);
  const api = apiOf(k);
  const client = ctx.track(connect(g, ctx.io));
  const list = await targets(client, k, g, names, all);
  const ing = verb === 'suspend' ? 'suspending' : 'resuming';
  const ed = verb === 'suspend' ? 'suspended' : 'resumed';
  let failed = 0;
  const resumed: Array<{ name: string; generation: number }> = [];
  for (const t of list) {
    if (!t.obj) {
      ctx.progress.failure(
        verb === 'suspend' ? `${api.kind} ${t.name} not found in ${g.namespace} namespace` : `${api.kind} object '${t.name}' not found in ${g.namespace} namespace`,
      );
      failed++;
      continue;
    }
    ctx.progress.action(`${ing} ${k.humanKind} ${t.name} in ${g.namespace} namespace`);
    try {
      const patched = await patchSuspend(client, k, g, t.name, verb === 'suspend');
      ctx.progress.success(`${k.humanKind} ${ed}`);
      resumed.push({ name: t.name, generation: patched.metadata.generation ?? 0 });
    } catch (e) {
      ctx.progress.failure(`failed ${ing} ${api.kind} ${t.name} in ${g.namespace} namespace: ${errorMessage(e)}`);
      failed++;
    }
  }
  if (verb === 'suspend') return failed > 0 ? 1 : 0;

  const explicitWait = ctx.opts['wait'] as boolean | undefined;
  const shouldWait = explicitWait ?? (names.length === 1 && !all);
  if (!shouldWait) return failed > 0 ? 1 : 0;

  const results = await Promise.all(
    resumed.map(async (r) => {
      ctx.progress.waiting(`waiting for ${api.kind} reconciliation`);
      if (k.isStatic) return { name: r.name, error: undefined, obj: undefined };
      try {
        const s = await waitSettled(
          () => client.get(refFor(k, g.namespace, r.name)),
          g.timeoutMs,
          `${api.kind} ${r.name} reconciliation`,
          `${api.kind} object '${r.name}' not found in "${g.namespace}" namespace`,
        );
        return { name: r.name, error: s.result.ready ? undefined : s.result.message, obj: s.obj };
      } catch (e) {
        return { name: r.name, error: errorMessage(e), obj: undefined };
      }
    }),
  );
  let reconcileFailures = 0;
  for (const r of results.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (r.error !== undefined) {
      ctx.progress.failure(`${api.kind} ${r.name} reconciliation failed: ${r.error}`);
      reconcileFailures++;
      continue;
    }
    ctx.progress.success(`${api.kind} ${r.name} reconciliation completed`);
    if (r.obj) ctx.progress.success(k.successMessage(r.obj));
    else ctx.progress.success(k.successMessage({ apiVersion: api.apiVersion, kind: api.kind, metadata: { name: r.name } }));
  }
  if (reconcileFailures > 0) throw new CliError(`reconciliation failed for ${reconcileFailures} ${api.kind}(s)`);
  return failed > 0 ? 1 : 0;
}

function leaf(io: CliIO, k: CliKind, verb: Verb): Command {
  const cmd = leafCommand(k, `${verb} the reconciliation of ${k.kind} objects`)
    .argument('[names...]', 'object names')
    .addOption(new Option('--all', `${verb} all ${k.kind} objects in the namespace`));
  if (verb === 'resume') cmd.addOption(new Option('--wait [bool]', 'wait for each object to reconcile (default when one name is given)').argParser(parseBool));
  withGlobals(cmd, { allNamespaces: false });
  return cmd.action(action(io, (ctx) => runSuspend(ctx, k, verb)));
}

export function parseBool(v: string | undefined): boolean {
  if (v === undefined || v === 'true') return true;
  if (v === 'false') return false;
  throw new InvalidArgumentError(`"${v}" is not a boolean: use true or false`);
}

export function suspendCommand(io: CliIO): Command {
  return verbTree('suspend', 'suspend the reconciliation of resources', (k) => leaf(io, k, 'suspend'));
}

export function resumeCommand(io: CliIO): Command {
  return verbTree('resume', 'resume suspended resources and wait for their reconciliation', (k) => leaf(io, k, 'resume'));
}
