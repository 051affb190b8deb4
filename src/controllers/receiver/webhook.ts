/**
 * The webhook behind `--receiver-addr`: `/hook/<digest>` finds its Receiver in the
 * informer cache, authenticates the request as the Receiver's type says, and asks for a
 * reconcile of each listed object by setting `reconcile.fluxcd.io/requestedAt`.
 * Answers as Flux does: 200, 404 for an unknown path, 503 when the Receiver is suspended
 * or not Ready, 400 when the request does not authenticate, 500 when annotating failed.
 */
import type http from 'node:http';
import { apiKindOf, type FluxKind } from '../../api/index.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Logger } from '../../runtime/log/logger.ts';
import { READY, findCondition } from '../../runtime/reconcile/conditions.ts';
import { REQUESTED_AT_ANNOTATION } from '../../runtime/reconcile/types.ts';
import { RequestRefused, checkRequest } from './request.ts';
import { receiverToken } from './steps/path.ts';
import type { ReceiverDeps, ReceiverObject, SupportedType } from './types.ts';

export const PATH_INDEX = 'webhookPath';
const MAX_BODY_BYTES = 3 << 20;

async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function webhookHandler(deps: ReceiverDeps, receivers: () => Informer<ReceiverObject> | undefined, log: Logger) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const reply = (code: number): void => void res.writeHead(code, { 'content-type': 'text/plain' }).end();
    const body = await readBody(req);
    if (body === undefined) return reply(413);
    const receiver = receivers()?.byIndex(PATH_INDEX, path)[0];
    if (!receiver) return reply(404);
    const ns = receiver.metadata.namespace ?? 'default';
    const rlog = log.child({ controllerKind: 'Receiver', name: receiver.metadata.name, namespace: ns });
    const ready = findCondition(receiver.status?.conditions, READY)?.status === 'True';
    if (receiver.spec.suspend || !ready) {
      rlog.warn({ suspended: receiver.spec.suspend === true }, 'unable to process request: the receiver is suspended or not ready');
      return reply(503);
    }
    try {
      const token = await receiverToken(deps, receiver);
      checkRequest(receiver.spec.type as SupportedType, req.headers, body, token, receiver.spec.events);
    } catch (e) {
      rlog.warn({ err: e instanceof Error ? e.message : String(e) }, 'unable to validate payload');
      return reply(e instanceof RequestRefused ? 400 : 500);
    }
    let failed = false;
    for (const r of receiver.spec.resources) {
      try {
        await requestReconcile(deps, ns, r);
      } catch (e) {
        failed = true;
        rlog.error({ resource: `${r.kind}/${r.namespace ?? ns}/${r.name}`, err: e instanceof Error ? e.message : String(e) }, 'unable to request reconciliation');
      }
    }
    rlog.info({ resources: receiver.spec.resources.length }, 'handled webhook request');
    reply(failed ? 500 : 200);
  };
}

async function requestReconcile(
  deps: ReceiverDeps,
  receiverNs: string,
  r: ReceiverObject['spec']['resources'][number],
): Promise<void> {
  const client: KubeClient = deps.client;
  const ns = r.namespace ?? receiverNs;
  if (deps.noCrossNamespaceRefs && ns !== receiverNs) throw new Error('cross-namespace references are not allowed');
  let apiVersion = r.apiVersion;
  if (!apiVersion) {
    try {
      apiVersion = apiKindOf(r.kind as FluxKind).apiVersion;
    } catch {
      throw new Error(`apiVersion must be specified for kind '${r.kind}'`);
    }
  }
  const patch = { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: new Date().toISOString() } } };
  if (r.name !== '*') {
    await client.patch({ apiVersion, kind: r.kind, namespace: ns, name: r.name }, patch, { type: 'merge' });
    return;
  }
  const selector = Object.entries(r.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const list = await client.listMetadata(apiVersion, r.kind, { namespace: ns, ...(selector ? { labelSelector: selector } : {}) });
  for (const o of list.items) await client.patch({ apiVersion, kind: r.kind, namespace: ns, name: o.metadata.name }, patch, { type: 'merge' });
}
