import type { Transport } from './transport.ts';
import { splitApiVersion } from './objects.ts';

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs: string[];
}

interface APIResourceList {
  resources: Array<{ name: string; kind: string; namespaced: boolean; verbs: string[] }>;
}

/**
 * Maps apiVersion + kind to the REST resource, from the API server's discovery documents.
 * A group/version is fetched once and cached; a miss refetches it once (a CRD may have
 * just been established).
 */
export class RestMapper {
  private readonly cache = new Map<string, Promise<Map<string, ResourceInfo>>>();

  constructor(private readonly transport: Transport) {}

  private load(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    let p = this.cache.get(apiVersion);
    if (!p) {
      const { group, version } = splitApiVersion(apiVersion);
      const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
      p = this.transport.request<APIResourceList>('GET', path).then((list) => {
        const byKind = new Map<string, ResourceInfo>();
        for (const r of list.resources) {
          if (r.name.includes('/')) continue; // subresources
          byKind.set(r.kind, { group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced, verbs: r.verbs });
        }
        return byKind;
      });
      p.catch(() => this.cache.delete(apiVersion));
      this.cache.set(apiVersion, p);
    }
    return p;
  }

  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    let info = (await this.load(apiVersion).catch(() => undefined))?.get(kind);
    if (!info) {
      this.cache.delete(apiVersion);
      info = (await this.load(apiVersion).catch(() => undefined))?.get(kind);
    }
    return info;
  }

  invalidate(): void {
    this.cache.clear();
  }
}

export function resourcePath(info: Pick<ResourceInfo, 'group' | 'version' | 'plural' | 'namespaced'>, namespace?: string, name?: string): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const n = name ? `/${encodeURIComponent(name)}` : '';
  return `${base}${ns}/${info.plural}${n}`;
}
