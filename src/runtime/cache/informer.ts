import type { KubeClient } from '../client/client.ts';
import { isGone } from '../client/errors.ts';
import { objectKey, type KubeObject, type ObjectList } from '../client/objects.ts';
import type { Logger } from '../log/logger.ts';
import { Indexer, type IndexFunc } from './indexer.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (obj: T, old?: T) => void;

export interface InformerOptions {
  apiVersion: string;
  kind: string;
  /** Watch one namespace; all namespaces when absent. */
  namespace?: string | undefined;
  /** Sharding and scoping: only objects matching this selector are cached. */
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** Cache PartialObjectMetadata only (cheap: for drift detection of applied objects). */
  metadataOnly?: boolean;
  /**
   * Keep objects in memory (default). A trigger-only informer (`false`) stores nothing and
   * only emits events: how Secrets are watched, so memory does not follow the cluster's size.
   */
  store?: boolean;
  /** Reconnect backoff bounds after a watch failure. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; message?: string };
}

const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

class GoneError extends Error {}

/**
 * A list+watch cache for one kind. Lists once, then watches from the list's
 * resourceVersion with bookmarks; on `410 Gone` it relists and emits the difference;
 * on any other failure it reconnects with exponential backoff (client-node's informer
 * stays stopped after such errors, which is why this one is our own).
 */
export class Informer<T extends KubeObject = KubeObject> {
  private readonly store: Indexer<T>;
  private readonly handlers: Record<InformerEvent, Array<InformerHandler<T>>> = { add: [], update: [], delete: [] };
  private resourceVersion = '';
  private abort: AbortController | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private syncedResolve!: () => void;
  readonly synced: Promise<void>;
  private hasSyncedFlag = false;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relistsAfterGone: 0, reconnects: 0, bookmarks: 0 };

  constructor(
    private readonly client: KubeClient,
    readonly options: InformerOptions,
    private readonly log: Logger,
  ) {
    this.store = new Indexer<T>();
    this.synced = new Promise((r) => (this.syncedResolve = r));
  }

  on(event: InformerEvent, handler: InformerHandler<T>): this {
    this.handlers[event].push(handler);
    return this;
  }

  addIndex(name: string, fn: IndexFunc<T>): this {
    this.store.addIndex(name, fn);
    return this;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(namespace?: string): T[] {
    return this.store.list(namespace);
  }

  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }

  get hasSynced(): boolean {
    return this.hasSyncedFlag;
  }

  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    await this.loop?.catch(() => undefined);
  }

  /**
   * Test seam: make the next watch resume from `rv` (for example a long-compacted one) and
   * drop the current connection, so a test can prove the 410 relist against a real server.
   */
  resumeFrom(rv: string): void {
    this.resourceVersion = rv;
    this.abort?.abort();
  }

  private emit(event: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers[event]) {
      try {
        h(obj, old);
      } catch (e) {
        this.log.error({ err: e, kind: this.options.kind }, 'informer handler failed');
      }
    }
  }

  private async path(): Promise<string> {
    return this.client.pathFor({ apiVersion: this.options.apiVersion, kind: this.options.kind, namespace: this.options.namespace });
  }

  private async relist(): Promise<void> {
    this.stats.lists++;
    const path = await this.path();
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.transport.request<ObjectList<T>>('GET', path, {
        query: { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector, limit: 500, continue: cont },
        ...(this.options.metadataOnly ? { accept: METADATA_ACCEPT } : {}),
      });
      for (const it of page.items ?? []) items.push({ ...it, apiVersion: this.options.apiVersion, kind: this.options.kind });
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    const seen = new Set<string>();
    if (this.options.store === false) {
      for (const obj of items) this.emit('add', obj);
      items.length = 0;
    }
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (!old) this.emit('add', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('update', obj, old);
    }
    for (const old of this.store.list()) {
      const key = objectKey(old);
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit('delete', old);
      }
    }
    this.resourceVersion = rv;
    if (!this.hasSyncedFlag) {
      this.hasSyncedFlag = true;
      this.syncedResolve();
    }
  }

  private async watch(): Promise<void> {
    this.stats.watches++;
    this.abort = new AbortController();
    const path = await this.path();
    await this.client.transport.stream(
      path,
      {
        query: {
          watch: 1,
          allowWatchBookmarks: true,
          resourceVersion: this.resourceVersion,
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
          // the server ends the watch after this; we simply resume from the last version
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        },
        signal: this.abort.signal,
        timeoutMs: 0,
        ...(this.options.metadataOnly ? { accept: METADATA_WATCH_ACCEPT } : {}),
      },
      (line) => this.handle(line as WatchEvent),
    );
  }

  private handle(ev: WatchEvent): void {
    if (ev.type === 'ERROR') {
      if (ev.object.code === 410) throw new GoneError(ev.object.message ?? 'resource version too old');
      throw new Error(`watch error: ${ev.object.message ?? JSON.stringify(ev.object)}`);
    }
    const obj = { ...ev.object, apiVersion: this.options.apiVersion, kind: this.options.kind } as T;
    if (obj.metadata.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      this.stats.bookmarks++;
      return;
    }
    if (this.options.store === false) {
      this.emit(ev.type === 'DELETED' ? 'delete' : ev.type === 'ADDED' ? 'add' : 'update', obj);
      return;
    }
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (ev.type === 'DELETED') {
      this.store.delete(key);
      this.emit('delete', obj);
    } else {
      this.store.set(key, obj);
      this.emit(old ? 'update' : 'add', obj, old);
    }
  }

  private async run(): Promise<void> {
    const minB = this.options.minBackoffMs ?? 500;
    const maxB = this.options.maxBackoffMs ?? 30_000;
    let backoff = minB;
    let needList = true;
    while (this.running) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        await this.watch();
        backoff = minB; // a watch that ended cleanly (server timeout) resumes at once
      } catch (e) {
        if (!this.running) break;
        if (e instanceof GoneError || isGone(e)) {
          this.stats.relistsAfterGone++;
          this.log.info({ kind: this.options.kind }, 'watch expired (410 Gone), relisting');
          needList = true;
          continue;
        }
        if (this.abort?.signal.aborted) continue; // resumeFrom() or stop()
        this.stats.reconnects++;
        this.log.warn({ kind: this.options.kind, err: e instanceof Error ? e.message : String(e), backoffMs: backoff }, 'watch failed, reconnecting');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(maxB, backoff * 2);
        // a failed list must be retried too; a failed watch resumes from the last version
      }
    }
  }
}
