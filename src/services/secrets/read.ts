import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { StallingError, TransientError } from '../../runtime/errors.ts';

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/**
 * Reads a Secret directly (never from a cache: Flotilla does not keep the cluster's
 * Secrets in memory) and returns its data decoded to UTF-8 strings. A missing Secret is
 * an error the user can act on; its values never appear in the message.
 */
export async function readSecret(client: KubeClient, namespace: string, name: string, reason: string, purpose: string): Promise<Record<string, string>> {
  let secret: SecretObject | undefined;
  try {
    secret = await client.get<SecretObject>({ apiVersion: 'v1', kind: 'Secret', namespace, name });
  } catch (e) {
    throw new TransientError(reason, `failed to get secret '${namespace}/${name}' (${purpose}): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!secret) throw new TransientError(reason, `secret '${namespace}/${name}' not found (${purpose}): create it or fix the reference`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
  return out;
}

/** Raw (base64) data of a Secret, for consumers that parse it themselves. */
export async function readSecretRaw(client: KubeClient, namespace: string, name: string, reason: string, purpose: string): Promise<Record<string, string>> {
  const decoded = await readSecret(client, namespace, name, reason, purpose);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(decoded)) out[k] = Buffer.from(v, 'utf8').toString('base64');
  return out;
}

export function requireKey(data: Record<string, string>, key: string, where: string, reason: string): string {
  const v = data[key];
  if (v === undefined) throw new StallingError(reason, `${where} has no key '${key}'`);
  return v;
}
