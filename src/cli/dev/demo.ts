import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../config/paths.ts';
import { KubeClient } from '../../runtime/client/client.ts';
import { isKubeObject, type KubeObject } from '../../runtime/client/objects.ts';
import { devUp } from './dev.ts';
import { commitFiles, createRepo, repoPath } from './git-server.ts';

interface Conditioned extends KubeObject {
  status?: { conditions?: Array<{ type: string; status: string; message: string }>; observedGeneration?: number };
}

async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir, { recursive: true })) as string[]) {
    const full = path.join(dir, f);
    if (f.endsWith('.yaml') || f.endsWith('.yml') || f.endsWith('.md')) out[f] = await readFile(full, 'utf8');
  }
  return out;
}

async function readManifests(dir: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(await readFile(path.join(dir, f), 'utf8'))) {
      const o: unknown = doc.toJS();
      if (isKubeObject(o)) out.push(o);
    }
  }
  return out;
}

/** Publishes an example's `repo/` folder to the dev Git server (a new commit only when it changed). */
export async function publishExample(gitRoot: string, name: string, exampleDir: string): Promise<void> {
  const files = await readTree(path.join(exampleDir, 'repo'));
  if (!existsSync(repoPath(gitRoot, name))) {
    await createRepo(gitRoot, name, files, { message: `${name}: initial import` });
    return;
  }
  await commitFiles(gitRoot, name, files, { message: `${name}: sync from examples/`, replaceTree: true, skipIfUnchanged: true });
}

/**
 * `make demo`: the local control plane with the operator, the quickstart example served
 * from a local Git server, its GitRepository and Kustomization applied, and a wait until
 * every object is Ready.
 */
export async function runDemo(dir: string, out: (s: string) => void, print: (argv: string[]) => Promise<void>): Promise<number> {
  const ep = await devUp({ dir, operator: true, fakeKubelet: true }, out);
  const kubeconfig = path.join(path.resolve(dir), 'kubeconfig');
  const example = path.join(packageRoot(), 'examples', 'quickstart');
  await publishExample(path.join(path.resolve(dir), 'git'), 'quickstart', example);
  out(`► serving examples/quickstart at ${ep.git}/quickstart.git`);
  const client = KubeClient.fromFile(kubeconfig);
  try {
    const objects = await readManifests(path.join(example, 'flux'));
    for (const o of objects) {
      if (o.kind === 'GitRepository') (o['spec'] as { url: string }).url = `${ep.git}/quickstart.git`;
      await client.apply(o, { fieldManager: 'flotilla', force: true });
      out(`✔ applied ${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
    }
    const deadline = Date.now() + 180_000;
    for (const o of objects) {
      const ref = { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
      out(`◎ waiting for ${o.kind}/${o.metadata.name} to be Ready`);
      for (;;) {
        const live = await client.get<Conditioned>(ref);
        const ready = live?.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status === 'True' && live?.status?.observedGeneration === live?.metadata.generation) {
          out(`✔ ${o.kind}/${o.metadata.name}: ${ready.message}`);
          break;
        }
        if (Date.now() > deadline) {
          out(`✗ ${o.kind}/${o.metadata.name} not Ready: ${ready?.message ?? 'no status yet'}`);
          out(`  see ${path.join(dir, 'operator.log')}`);
          return 1;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    client.close();
  }
  out('');
  await print(['get', 'all', '-A', '--kubeconfig', kubeconfig]);
  out('');
  await print(['tree', 'kustomization', 'quickstart', '-n', 'flux-system', '--kubeconfig', kubeconfig]);
  out('');
  out(`Try a change: edit examples/quickstart/repo, then run \`make demo\` again (it commits the change),`);
  out(`or: flotilla reconcile ks quickstart --with-source --kubeconfig ${kubeconfig}`);
  out(`Stop everything: make demo-down`);
  return 0;
}
