/**
 * `flotilla reconcile <kind> <name>`: asks the controller for a reconciliation now by
 * setting `reconcile.fluxcd.io/requestedAt`, waits until `status.lastHandledReconcileAt`
 * echoes that value and the controller has settled, then reports the outcome like Flux
 * (non-zero exit with the Ready message when it failed). `--with-source` reconciles the
 * object's source first; for a HelmRelease, `--force` and `--reset` set Flux's forceAt and
 * resetAt annotations too.
 */
import { Command, Option } from 'commander';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { connect, globalsOf, withGlobals, type Globals } from './globals.ts';
import { action, CliError, type ActionContext, type CliIO } from './io.ts';
import { apiOf, cliKindOf, type CliKind } from './kinds.ts';
import { getObject, refFor } from './lookup.ts';
import { isSuspended, rfc3339Nano, settled, stringField } from './status.ts';
import { leafCommand, pollUntil, verbTree } from './verbs.ts';

export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
export const FORCE_AT = 'reconcile.fluxcd.io/forceAt';
export const RESET_AT = 'reconcile.fluxcd.io/resetAt';
/** The field manager Flux's CLI writes with, so ownership looks the same to both tools. */
export const CLI_FIELD_MANAGER = 'flux';

interface ReconcileOptions {
  withSource: boolean;
  force: boolean;
  reset: boolean;
}

/** Has the controller handled the request made at `requestedAt` (or a later one)? */
export function requestHandled(obj: KubeObject, requestedAt: string, previous: string | undefined): boolean {
  const handled = stringField(obj, 'status', 'lastHandledReconcileAt');
  if (handled === undefined) return false;
  if (handled === requestedAt) return true;
  // someone asked again after us: a later request that was handled covers ours
  return handled !== previous && Date.parse(handled) >= Date.parse(requestedAt);
}

/** Sets the request annotation (merge patch: other annotations stay) and returns its value. */
export async function requestReconciliation(client: KubeClient, k: CliKind, namespace: string, name: string, now: Date, extra: string[] = []): Promise<string> {
  const ts = rfc3339Nano(now);
  const annotations: Record<string, string> = { [REQUESTED_AT]: ts };
  for (const a of extra) annotations[a] = ts;
  await client.patch(refFor(k, namespace, name), { metadata: { annotations } }, { type: 'merge', fieldManager: CLI_FIELD_MANAGER });
  return ts;
}

export async function reconcileOne(ctx: ActionContext, client: KubeClient, g: Globals, k: CliKind, namespace: string, name: string, o: ReconcileOptions): Promise<void> {
  const api = apiOf(k);
  const obj = await getObject(client, k, namespace, name);
  if (k.isStatic) {
    ctx.progress.success('reconciliation not supported by the object');
    return;
  }
  if (isSuspended(obj)) throw new CliError('resource is suspended');
  const withSource = k.sourceOf !== undefined;
  if (o.withSource && k.sourceOf) {
    const src = k.sourceOf(obj);
    const srcKind = src ? cliKindOf(src.kind) : undefined;
    if (!src || !srcKind || srcKind.isStatic) throw new CliError(`cannot reconcile source of kind ${src?.kind ?? '(none)'}`);
    // a HelmChart is itself reconciled with its source, as Flux does for HelmRelease --with-source
    await reconcileOne(ctx, client, g, srcKind, src.namespace || namespace, src.name, { ...o, withSource: srcKind.kind === 'HelmChart' });
  }

  const previous = stringField(obj, 'status', 'lastHandledReconcileAt');
  ctx.progress.action(`annotating ${api.kind} ${name} in ${namespace} namespace`);
  const extra = k.kind === 'HelmRelease' ? [...(o.force ? [FORCE_AT] : []), ...(o.reset ? [RESET_AT] : [])] : [];
  const ts = await requestReconciliation(client, k, namespace, name, ctx.io.now(), extra);
  ctx.progress.success(`${api.kind} annotated`);

  ctx.progress.waiting(`waiting for ${api.kind} reconciliation`);
  const done = await pollUntil(
    async () => {
      const cur = await client.get(refFor(k, namespace, name));
      if (!cur) throw new CliError(`${api.kind} object '${name}' not found in "${namespace}" namespace`);
      if (!requestHandled(cur, ts, previous)) return { done: false, why: 'the controller has not handled the request yet' };
      const s = settled(cur);
      return s.done ? { done: true, value: { cur, s } } : { done: false, why: s.why };
    },
    g.timeoutMs,
    `${api.kind} reconciliation`,
  );
  if (!done.s.ready) {
    // Flux quotes the message for plain kinds and not for those reconciled with a source
    const msg = withSource ? done.s.message : `'${done.s.message}'`;
    throw new CliError(`${api.kind} reconciliation failed: ${msg}`);
  }
  ctx.progress.success(k.successMessage(done.cur));
}

function leaf(io: CliIO, k: CliKind): Command | undefined {
  if (k.isStatic) return undefined;
  const cmd = leafCommand(k, `trigger a reconciliation of a ${k.kind} and wait for the result`).argument('<name>', 'object name');
  if (k.sourceOf) cmd.addOption(new Option('--with-source', 'reconcile the source first'));
  if (k.kind === 'HelmRelease') {
    cmd.addOption(new Option('--force', 'force a one-off install or upgrade of the release'));
    cmd.addOption(new Option('--reset', 'reset the retry counters of the release'));
  }
  withGlobals(cmd, { allNamespaces: false });
  return cmd.action(
    action(io, async (ctx) => {
      const g = globalsOf(ctx.cmd, io);
      const client = ctx.track(connect(g, io));
      await reconcileOne(ctx, client, g, k, g.namespace, ctx.args[0] as string, {
        withSource: ctx.opts['withSource'] === true,
        force: ctx.opts['force'] === true,
        reset: ctx.opts['reset'] === true,
      });
    }),
  );
}

export function reconcileCommand(io: CliIO): Command {
  return verbTree('reconcile', 'trigger a reconciliation of sources and resources', (k) => leaf(io, k));
}
