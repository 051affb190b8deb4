/** Which Alerts want an event: source, severity and message filters, as Flux decides. */
import type { FlotillaEvent } from '../../runtime/events/recorder.ts';

export interface AlertLike {
  metadata: { name: string; namespace?: string };
  spec: {
    eventSources: Array<{ kind: string; name: string; namespace?: string; matchLabels?: Record<string, string> }>;
    eventSeverity?: string;
    inclusionList?: string[];
    exclusionList?: string[];
    suspend?: boolean;
    providerRef: { name: string };
    eventMetadata?: Record<string, string>;
    summary?: string;
  };
}

/** True when the Alert forwards `e`; `labels` are the involved object's labels (looked up only for `*` with matchLabels). */
export async function alertWants(
  alert: AlertLike,
  e: FlotillaEvent,
  labels: () => Promise<Record<string, string> | undefined>,
  opts: { noCrossNamespaceRefs: boolean },
): Promise<boolean> {
  if (alert.spec.suspend) return false;
  if (alert.spec.eventSeverity === 'error' && e.severity !== 'error') return false;
  const alertNs = alert.metadata.namespace ?? 'default';
  const o = e.involvedObject;
  let matched = false;
  for (const s of alert.spec.eventSources) {
    const ns = s.namespace ?? alertNs;
    if (opts.noCrossNamespaceRefs && ns !== alertNs) continue;
    if (s.kind !== o.kind || ns !== o.namespace) continue;
    if (s.name !== '*' && s.name !== o.name) continue;
    if (s.name === '*' && s.matchLabels && Object.keys(s.matchLabels).length) {
      const have = (await labels()) ?? {};
      if (!Object.entries(s.matchLabels).every(([k, v]) => have[k] === v)) continue;
    }
    matched = true;
    break;
  }
  if (!matched) return false;
  const test = (pattern: string): boolean => {
    try {
      return new RegExp(pattern).test(e.message);
    } catch {
      return false;
    }
  };
  if (alert.spec.inclusionList?.length && !alert.spec.inclusionList.some(test)) return false;
  if (alert.spec.exclusionList?.some(test)) return false;
  return true;
}
