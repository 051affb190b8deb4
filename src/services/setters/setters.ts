/**
 * Flux's image setters: a YAML value followed by a marker comment
 * `# {"$imagepolicy": "<namespace>:<policy>[:tag|:name|:digest]"}` is replaced by the
 * policy's latest image (name:tag, with @digest when known), its tag, its name or its
 * digest. Only the value on the marked line changes: comments, quoting style and the rest
 * of the file stay as they were.
 */

export interface PolicyImage {
  name: string;
  tag: string;
  digest?: string | undefined;
}

export interface SetterChange {
  file: string;
  line: number;
  policy: string;
  oldValue: string;
  newValue: string;
}

const MARKER = /^(?<head>\s*(?:-\s+)?(?:[^\s#:][^#]*?:\s+)?)(?<quote>["']?)(?<value>[^"'\s#]+)\k<quote>(?<tail>\s+#\s*\{\s*"\$imagepolicy"\s*:\s*"(?<ref>[^"]+)"\s*\}\s*)$/;

function valueFor(image: PolicyImage, field: string | undefined): string | undefined {
  switch (field) {
    case undefined:
      return `${image.name}:${image.tag}${image.digest ? `@${image.digest}` : ''}`;
    case 'tag':
      return image.tag;
    case 'name':
      return image.name;
    case 'digest':
      return image.digest;
    default:
      return undefined;
  }
}

/** Applies the setters of one file's text; returns the new text and what changed. */
export function applySetters(file: string, text: string, policies: ReadonlyMap<string, PolicyImage>): { text: string; changes: SetterChange[] } {
  const changes: SetterChange[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const m = MARKER.exec(line);
    if (!m?.groups) return;
    const [ns, name, field] = (m.groups['ref'] ?? '').split(':');
    const image = policies.get(`${ns}:${name}`);
    if (!image) return;
    const next = valueFor(image, field);
    const old = m.groups['value'] ?? '';
    if (next === undefined || next === old) return;
    const q = m.groups['quote'] ?? '';
    lines[i] = `${m.groups['head']}${q}${next}${q}${m.groups['tail']}`;
    changes.push({ file, line: i + 1, policy: `${ns}:${name}${field ? `:${field}` : ''}`, oldValue: old, newValue: next });
  });
  return { text: lines.join('\n'), changes };
}

/** Files the setters look at, as Flux does: YAML by extension, and kustomize's extensionless `Kustomization`. */
export const isSetterFile = (file: string): boolean => /\.ya?ml$/i.test(file) || /(^|\/)Kustomization$/.test(file);
