/**
 * Flux applies `spec.commonMetadata` after the build, to the top-level metadata of every
 * object (not to pod templates, unlike kustomize's commonLabels): its labels and
 * annotations are added, replacing values of the same keys.
 */

export interface CommonMetadata {
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Returns new objects with the common labels and annotations set. */
export function applyCommonMetadata<T extends Record<string, unknown>>(objects: readonly T[], common: CommonMetadata | undefined): T[] {
  const labels = Object.entries(common?.labels ?? {});
  const annotations = Object.entries(common?.annotations ?? {});
  if (labels.length === 0 && annotations.length === 0) return [...objects];
  return objects.map((object) => {
    const meta = isRecord(object['metadata']) ? { ...object['metadata'] } : {};
    if (labels.length > 0) meta['labels'] = { ...(isRecord(meta['labels']) ? meta['labels'] : {}), ...Object.fromEntries(labels) };
    if (annotations.length > 0) {
      meta['annotations'] = { ...(isRecord(meta['annotations']) ? meta['annotations'] : {}), ...Object.fromEntries(annotations) };
    }
    return { ...object, metadata: meta };
  });
}
