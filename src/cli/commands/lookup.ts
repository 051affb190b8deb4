/**
 * Reading Flux objects for the CLI: list by kind with Flux's namespace, name and label
 * filters, get one with Flux's "not found" wording, and tell "this kind is not installed"
 * apart from real errors so `get all` can skip kinds whose CRD is absent.
 */
import type { KubeClient } from '../../runtime/client/client.ts';
import { isApiError } from '../../runtime/client/errors.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { CliError } from './io.ts';
import { apiOf, type CliKind } from './kinds.ts';

export interface ListScope {
  /** undefined: all namespaces. */
  namespace: string | undefined;
  name?: string | undefined;
  labelSelector?: string | undefined;
}

/** A kind the API server does not serve (its CRD is not installed). */
export function isNoMatch(e: unknown): boolean {
  return isApiError(e) && e.statusCode === 404 && e.message.startsWith('no matches for kind');
}

export async function listKind(client: KubeClient, k: CliKind, scope: ListScope): Promise<KubeObject[]> {
  const api = apiOf(k);
  const list = await client.list(api.apiVersion, api.kind, {
    namespace: scope.namespace,
    labelSelector: scope.labelSelector,
    fieldSelector: scope.name ? `metadata.name=${scope.name}` : undefined,
  });
  // the API server lists in key order (namespace, then name), which is what Flux prints
  return list.items;
}

export async function getObject(client: KubeClient, k: CliKind, namespace: string, name: string): Promise<KubeObject> {
  const api = apiOf(k);
  const obj = await client.get({ apiVersion: api.apiVersion, kind: api.kind, namespace, name });
  if (!obj) throw new CliError(`${api.kind} object '${name}' not found in "${namespace}" namespace`);
  return obj;
}

export function refFor(k: CliKind, namespace: string, name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  const api = apiOf(k);
  return { apiVersion: api.apiVersion, kind: api.kind, namespace, name };
}
