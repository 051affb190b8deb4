import { createHash } from 'node:crypto';

/**
 * The tags each ImageRepository found at its last scan, shared between the
 * ImageRepository controller (which writes them) and the ImagePolicy controller (which
 * chooses from them). In memory: a restarted operator rescans, and policies wait for it.
 */
export class ImageTagStore {
  private readonly byRepo = new Map<string, { canonicalName: string; tags: readonly string[]; checksum: string }>();

  /** Records a scan; returns the checksum of the tag list (changes when the tags change). */
  set(namespace: string, name: string, canonicalName: string, tags: readonly string[]): string {
    const sorted = [...tags].sort();
    const checksum = createHash('sha256').update(sorted.join('\n')).digest('hex').slice(0, 16);
    this.byRepo.set(`${namespace}/${name}`, { canonicalName, tags: sorted, checksum });
    return checksum;
  }

  get(namespace: string, name: string): { canonicalName: string; tags: readonly string[]; checksum: string } | undefined {
    return this.byRepo.get(`${namespace}/${name}`);
  }

  delete(namespace: string, name: string): void {
    this.byRepo.delete(`${namespace}/${name}`);
  }
}

/** `alpine` → `index.docker.io/library/alpine`, as Flux (go-containerregistry) names images. */
export function canonicalImageName(image: string): string {
  const first = image.split('/')[0] ?? '';
  const hasRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return image.replace(/^docker\.io\//, 'index.docker.io/');
  return `index.docker.io/${image.includes('/') ? image : `library/${image}`}`;
}
