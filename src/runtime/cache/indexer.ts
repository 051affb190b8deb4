import { parseKey } from '../client/objects.ts';

export type IndexFunc<T> = (obj: T) => string[];

/** A keyed object store with secondary indexes (e.g. "GitRepositories referencing this Secret"). */
export class Indexer<T> {
  private readonly items = new Map<string, T>();
  private readonly indexFuncs = new Map<string, IndexFunc<T>>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.indexFuncs.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const [key, obj] of this.items) for (const v of fn(obj)) add(idx, v, key);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  set(key: string, obj: T): void {
    this.unindex(key);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexFuncs) {
      const idx = this.indexes.get(name);
      if (idx) for (const v of fn(obj)) add(idx, v, key);
    }
  }

  delete(key: string): void {
    this.unindex(key);
    this.items.delete(key);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.items.values()];
    const out: T[] = [];
    for (const [key, obj] of this.items) if (parseKey(key).namespace === namespace) out.push(obj);
    return out;
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  get size(): number {
    return this.items.size;
  }

  private unindex(key: string): void {
    const old = this.items.get(key);
    if (!old) return;
    for (const [name, fn] of this.indexFuncs) {
      const idx = this.indexes.get(name);
      if (!idx) continue;
      for (const v of fn(old)) {
        const set = idx.get(v);
        set?.delete(key);
        if (set && set.size === 0) idx.delete(v);
      }
    }
  }
}

function add(idx: Map<string, Set<string>>, value: string, key: string): void {
  let s = idx.get(value);
  if (!s) idx.set(value, (s = new Set()));
  s.add(key);
}
