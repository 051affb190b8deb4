import { Transport, type Impersonation } from './transport.ts';
import { Kubeconfig, accessFromClientNode, type ClientNodeKubeConfig, type ClusterAccess } from './kubeconfig.ts';
import { RestMapper, resourcePath, type ResourceInfo } from './discovery.ts';
import { ApiError, isNotFound } from './errors.ts';
import type { KubeObject, ObjectList, ObjectRef } from './objects.ts';

export interface ApplyOptions {
  fieldManager: string;
  force?: boolean;
  dryRun?: boolean;
}

export interface ListOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit?: number;
}

export type PatchType = 'merge' | 'json' | 'strategic';

const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

/**
 * The one place where Flotilla talks to Kubernetes. Works on unstructured objects so that
 * no field is lost; resolves kinds through discovery; every write names its field manager.
 */
export class KubeClient {
  readonly transport: Transport;
  readonly mapper: RestMapper;

  constructor(transport: Transport, mapper?: RestMapper) {
    this.transport = transport;
    this.mapper = mapper ?? new RestMapper(transport);
  }

  static fromAccess(access: ClusterAccess, opts: { qps?: number; burst?: number } = {}): KubeClient {
    return new KubeClient(new Transport(access, { qps: opts.qps ?? 500, burst: opts.burst ?? 1000 }));
  }

  /** From our own kubeconfig reader, or from client-node's KubeConfig. */
  static fromKubeConfig(kc: Kubeconfig | ClientNodeKubeConfig, opts: { qps?: number; burst?: number } = {}): KubeClient {
    return KubeClient.fromAccess(kc instanceof Kubeconfig ? kc.access() : accessFromClientNode(kc), opts);
  }

  static fromFile(path: string, opts: { qps?: number; burst?: number; context?: string } = {}): KubeClient {
    return KubeClient.fromKubeConfig(Kubeconfig.fromFile(path, opts.context), opts);
  }

  /** A client that acts as `who` (impersonation); it shares discovery and the rate budget. */
  impersonate(who: Impersonation): KubeClient {
    return new KubeClient(this.transport.impersonating(who), this.mapper);
  }

  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const info = await this.mapper.resourceFor(apiVersion, kind);
    if (!info) throw new ApiError(404, 'NotFound', `no matches for kind "${kind}" in version "${apiVersion}"`);
    return info;
  }

  async pathFor(ref: { apiVersion: string; kind: string; namespace?: string | undefined; name?: string }): Promise<string> {
    return resourcePath(await this.resource(ref.apiVersion, ref.kind), ref.namespace, ref.name);
  }

  async get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.transport.request<T>('GET', await this.pathFor(ref));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const path = await this.pathFor({ apiVersion, kind, namespace: opts.namespace });
    const items: T[] = [];
    let cont: string | undefined;
    let last: ObjectList<T> | undefined;
    do {
      last = await this.transport.request<ObjectList<T>>('GET', path, {
        query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit ?? 500, continue: cont },
      });
      // list items omit apiVersion/kind; put them back so every object is self-describing
      for (const it of last.items) items.push({ ...it, apiVersion, kind });
      cont = last.metadata.continue || undefined;
    } while (cont);
    return { ...last, items };
  }

  /**
   * The object's metadata only (PartialObjectMetadata: labels, annotations, resourceVersion,
   * managedFields), without spec or status; undefined when absent. Cheap drift checks.
   */
  async getMetadata(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      const obj = await this.transport.request<KubeObject>('GET', await this.pathFor(ref), { accept: METADATA_ACCEPT });
      return { ...obj, apiVersion: ref.apiVersion, kind: ref.kind };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Like `list`, but only the metadata of each item (PartialObjectMetadataList). */
  async listMetadata(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<ObjectList> {
    const path = await this.pathFor({ apiVersion, kind, namespace: opts.namespace });
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let last: ObjectList | undefined;
    do {
      last = await this.transport.request<ObjectList>('GET', path, {
        accept: METADATA_LIST_ACCEPT,
        query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit ?? 500, continue: cont },
      });
      // an empty PartialObjectMetadataList has no items field at all
      for (const it of last.items ?? []) items.push({ ...it, apiVersion, kind });
      cont = last.metadata.continue || undefined;
    } while (cont);
    return { ...last, items };
  }

  async create<T extends KubeObject = KubeObject>(obj: KubeObject, opts: { fieldManager?: string; dryRun?: boolean } = {}): Promise<T> {
    const path = await this.pathFor({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace });
    return this.transport.request<T>('POST', path, {
      body: obj,
      query: { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  async update<T extends KubeObject = KubeObject>(obj: KubeObject, opts: { fieldManager?: string } = {}): Promise<T> {
    return this.transport.request<T>('PUT', await this.pathFor({ ...obj, name: obj.metadata.name, namespace: obj.metadata.namespace }), {
      body: obj,
      query: { fieldManager: opts.fieldManager },
    });
  }

  /** Server-side apply of an arbitrary object (raw JSON, so unknown fields survive). */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ApplyOptions): Promise<T> {
    const path = await this.pathFor({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name });
    return this.transport.request<T>('PATCH', path, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: opts.fieldManager, force: opts.force ?? false, dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  async patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    body: unknown,
    opts: { type?: PatchType; fieldManager?: string; subresource?: string } = {},
  ): Promise<T> {
    const path = (await this.pathFor(ref)) + (opts.subresource ? `/${opts.subresource}` : '');
    return this.transport.request<T>('PATCH', path, {
      body,
      contentType: PATCH_CONTENT_TYPES[opts.type ?? 'merge'],
      query: { fieldManager: opts.fieldManager },
    });
  }

  /** Writes `status` through the /status subresource with a merge patch. */
  patchStatus<T extends KubeObject = KubeObject>(ref: ObjectRef, status: unknown, fieldManager: string): Promise<T> {
    return this.patch<T>(ref, { status }, { type: 'merge', fieldManager, subresource: 'status' });
  }

  /** Deletes; returns false when the object was already gone. */
  async delete(ref: ObjectRef, opts: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; dryRun?: boolean } = {}): Promise<boolean> {
    try {
      await this.transport.request('DELETE', await this.pathFor(ref), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: opts.propagationPolicy ?? 'Background', ...(opts.dryRun ? { dryRun: ['All'] } : {}) },
      });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Raw request for the rare API that has no helper (discovery, version, subject access reviews). */
  raw<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return this.transport.request<T>(method, path, body === undefined ? {} : { body });
  }

  close(): void {
    this.transport.close();
  }
}
