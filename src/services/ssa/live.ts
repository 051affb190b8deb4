/**
 * The live metadata of the objects about to be applied (existence, resourceVersion,
 * labels, annotations, managedFields), fetched as cheaply as possible: one metadata-only
 * list per kind and namespace instead of one request per object.
 */
import type { KubeClient } from '../../runtime/client/client.ts';
import { isForbidden } from '../../runtime/client/errors.ts';
import type { KubeObject, ObjectRef } from '../../runtime/client/objects.ts';
import { mapLimit } from './concurrency.ts';

export type LiveState = { found: true; obj: KubeObject } | { found: false } | { error: unknown };

export interface LookupStats {
  lists: number;
  gets: number;
}

export interface LiveLookup {
  id: string;
  ref: ObjectRef;
}

/**
 * A group this large that the owner-label list did not fully answer is listed without the
 * selector (objects applied before by someone else, or not yet created) rather than
 * fetched one by one.
 */
const UNLABELLED_LIST_MIN = 8;

function selectorOf(labels: Record<string, string>): string | undefined {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(',') : undefined;
}

export interface LookupOptions {
  ownerLabels: Record<string, string>;
  concurrency: number;
  stats: LookupStats;
}

/** Where the live metadata comes from. The default lists; an informer-backed one needs no request at all. */
export interface LiveMetadataSource {
  lookup(client: KubeClient, targets: readonly LiveLookup[], opts: LookupOptions): Promise<Map<string, LiveState>>;
}

export const listingMetadataSource: LiveMetadataSource = {
  async lookup(client, targets, opts) {
    const out = new Map<string, LiveState>();
    const groups = new Map<string, LiveLookup[]>();
    for (const t of targets) {
      const key = `${t.ref.apiVersion}\0${t.ref.kind}\0${t.ref.namespace ?? ''}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(t);
    }
    const singles: LiveLookup[] = [];
    const lists: LiveLookup[][] = [];
    for (const g of groups.values()) {
      if (g.length === 1) singles.push(...g);
      else lists.push(g);
    }

    const listGroup = async (group: LiveLookup[]): Promise<void> => {
      const first = group[0] as LiveLookup;
      const pending = new Map(group.map((t) => [t.ref.name, t]));
      const listOnce = async (labelSelector: string | undefined, complete: boolean): Promise<boolean> => {
        try {
          opts.stats.lists++;
          const list = await client.listMetadata(first.ref.apiVersion, first.ref.kind, { namespace: first.ref.namespace, labelSelector });
          for (const item of list.items) {
            const t = pending.get(item.metadata.name);
            if (!t) continue;
            out.set(t.id, { found: true, obj: item });
            pending.delete(item.metadata.name);
          }
          if (complete) for (const t of pending.values()) out.set(t.id, { found: false });
          if (complete) pending.clear();
          return true;
        } catch (e) {
          // a tenant may be allowed to get and patch but not to list: fall back to GETs
          if (!isForbidden(e)) throw e;
          return false;
        }
      };
      try {
        const selector = selectorOf(opts.ownerLabels);
        const listed = selector ? await listOnce(selector, false) : await listOnce(undefined, true);
        if (listed && pending.size >= UNLABELLED_LIST_MIN && selector) await listOnce(undefined, true);
      } catch {
        // any list failure: the per-object GETs below report the error object by object
      }
      singles.push(...pending.values());
    };
    await mapLimit(lists, opts.concurrency, listGroup);

    await mapLimit(singles, opts.concurrency, async (t) => {
      try {
        opts.stats.gets++;
        const obj = await client.getMetadata(t.ref);
        out.set(t.id, obj ? { found: true, obj } : { found: false });
      } catch (e) {
        out.set(t.id, { error: e });
      }
    });
    return out;
  },
};
