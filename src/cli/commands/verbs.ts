/**
 * The command tree Flux's verbs share: `<verb> source git|oci|helm|chart`,
 * `<verb> image repository|policy|update`, `<verb> kustomization|ks`, `<verb> helmrelease|hr`,
 * `<verb> receiver|alert|alert-provider`; one leaf per kind, built by the verb.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { CLI_KINDS, kindsInGroup, type CliKind } from './kinds.ts';
import { settled, type Settled } from './status.ts';
import { CliError } from './io.ts';
import { sleep } from './status.ts';

export function verbTree(verb: string, description: string, leaf: (k: CliKind) => Command | undefined): Command {
  const root = new Command(verb).description(description);
  for (const group of ['source', 'image'] as const) {
    const parent = new Command(group).description(`${verb} ${group === 'source' ? 'sources' : 'image automation objects'}`);
    for (const k of kindsInGroup(group)) {
      const cmd = leaf(k);
      if (cmd) parent.addCommand(cmd);
    }
    if (parent.commands.length > 0) root.addCommand(parent);
  }
  for (const k of CLI_KINDS) {
    if (k.group !== undefined) continue;
    const cmd = leaf(k);
    if (cmd) root.addCommand(cmd);
  }
  return root;
}

export function leafCommand(k: CliKind, description: string): Command {
  return new Command(k.word).aliases(k.aliases).description(description);
}

export const POLL_INTERVAL_MS = 250;

/**
 * Polls `probe` until it reports done, or throws after `timeoutMs` with the last reason
 * it gave, e.g. "timed out waiting for Kustomization reconciliation: generation 3 not observed yet".
 */
export async function pollUntil<T>(
  probe: () => Promise<{ done: true; value: T } | { done: false; why: string }>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let why = '';
  for (;;) {
    const r = await probe();
    if (r.done) return r.value;
    why = r.why;
    if (Date.now() >= deadline) throw new CliError(`timed out waiting for ${what}${why ? `: ${why}` : ''}`);
    await sleep(Math.min(POLL_INTERVAL_MS, Math.max(0, deadline - Date.now())));
  }
}

export type SettledObject = { obj: KubeObject; result: Extract<Settled, { done: true }> };

/** Waits until the controller has finished with the object's current generation. */
export function waitSettled(get: () => Promise<KubeObject | undefined>, timeoutMs: number, what: string, missing: string): Promise<SettledObject> {
  return pollUntil<SettledObject>(
    async () => {
      const obj = await get();
      if (!obj) throw new CliError(missing);
      const s = settled(obj);
      return s.done ? { done: true, value: { obj, result: s } } : { done: false, why: s.why };
    },
    timeoutMs,
    what,
  );
}
