import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from '../../runtime/client/client.ts';
import { isKubeObject, type KubeObject } from '../../runtime/client/objects.ts';

/** Reads every CustomResourceDefinition in `dir` (the generated crds/ folder). */
export async function readCrds(dir: string): Promise<KubeObject[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  const out: KubeObject[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(await readFile(path.join(dir, f), 'utf8'))) {
      const obj: unknown = doc.toJS();
      if (isKubeObject(obj) && obj.kind === 'CustomResourceDefinition') out.push(obj);
    }
  }
  return out;
}

/** Server-side applies the CRDs and waits until each is Established. */
export async function installCrds(client: KubeClient, dir: string, timeoutMs = 60_000): Promise<string[]> {
  const crds = await readCrds(dir);
  await Promise.all(crds.map((c) => client.apply(c, { fieldManager: 'flotilla', force: true })));
  const deadline = Date.now() + timeoutMs;
  for (const c of crds) {
    for (;;) {
      const live = await client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: c.metadata.name,
      });
      if (live?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${c.metadata.name} not established after ${timeoutMs}ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client.mapper.invalidate();
  return crds.map((c) => c.metadata.name);
}
