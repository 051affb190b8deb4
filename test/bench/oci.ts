/**
 * OCIRepository scenarios against Debian's docker-registry: the no-op poll (resolve the
 * tag, check the stored artifact) against a bare HTTP HEAD of the manifest, and push to
 * artifact (manifest, layer, safe extraction, deterministic archive) against fetching the
 * same manifest and layer and `tar xzf` + `tar czf`.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ArtifactStore, extractTarGz } from '../../src/services/artifacts/index.ts';
import { OciSession, parseOciUrl, type OciConnection } from '../../src/services/oci/index.ts';
import { startOciRegistry } from '../harness/oci-registry.ts';
import { median, report, type BenchResult } from './run.ts';

const run = promisify(execFile);

export async function ociBenches(results: BenchResult[]): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-oci-'));
  const registry = await startOciRegistry();
  try {
    const src = path.join(work, 'src');
    for (let i = 0; i < 300; i++) {
      await mkdir(path.join(src, `app-${i % 30}`), { recursive: true });
      await writeFile(path.join(src, `app-${i % 30}`, `res-${i}.yaml`), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\ndata:\n  v: "${'x'.repeat(200)}"\n`);
    }
    await run('tar', ['czf', path.join(work, 'layer.tgz'), '-C', src, '.']);
    const { readFile } = await import('node:fs/promises');
    const layer = await readFile(path.join(work, 'layer.tgz'));
    let n = 0;
    const push = () => registry.push('bench/app', 'latest', [{ data: Buffer.concat([layer]) }], { 'org.opencontainers.image.revision': `r${n++}` });
    await push();
    const conn: OciConnection = { name: parseOciUrl(registry.url('bench/app')), insecure: true, timeoutMs: 60_000 };
    const store = new ArtifactStore({ storagePath: path.join(work, 'store'), advertisedBaseUrl: 'http://bench' });

    const pull = async (dir: string): Promise<void> => {
      const session = new OciSession(conn);
      const digest = await session.resolve('latest');
      const { manifest } = await session.manifest(digest);
      const first = manifest.layers?.[0];
      if (!first) throw new Error('no layer');
      await mkdir(dir, { recursive: true });
      await session.blobToFile(first, path.join(dir, 'layer'), 512 << 20);
      await extractTarGz(path.join(dir, 'layer'), path.join(dir, 'src'));
      await store.put({ kind: 'OCIRepository', namespace: 'bench', name: 'bench', revision: `latest@${digest}`, sourceDir: path.join(dir, 'src') });
      await rm(dir, { recursive: true, force: true });
    };
    await pull(path.join(work, 'warm'));

    const manifestUrl = `http://${registry.host}/v2/bench/app/manifests/latest`;
    const accept = { Accept: 'application/vnd.oci.image.manifest.v1+json' };
    const poll = await median(25, async () => {
      await new OciSession(conn).resolve('latest');
    });
    const head = await median(25, async () => {
      const r = await fetch(manifestUrl, { method: 'HEAD', headers: accept });
      if (!r.ok) throw new Error(`HEAD ${r.status}`);
    });
    report(results, { name: 'ocirepository-noop-poll', value: poll, unit: 'ms', baseline: 'HTTP HEAD of the manifest', baselineValue: head });

    const ours = await median(7, async (i) => {
      await push();
      await pull(path.join(work, `pull-${i}-${n}`));
    });
    const baseline = await median(7, async (i) => {
      await push();
      const dir = path.join(work, `base-${i}-${n}`);
      await mkdir(path.join(dir, 'x'), { recursive: true });
      const manifest = (await (await fetch(manifestUrl, { headers: accept })).json()) as { layers: Array<{ digest: string }> };
      const blob = Buffer.from(await (await fetch(`http://${registry.host}/v2/bench/app/blobs/${manifest.layers[0]?.digest}`)).arrayBuffer());
      await writeFile(path.join(dir, 'layer.tgz'), blob);
      await run('tar', ['xzf', path.join(dir, 'layer.tgz'), '-C', path.join(dir, 'x')]);
      await run('tar', ['czf', `${dir}.tar.gz`, '-C', path.join(dir, 'x'), '.']);
      await rm(dir, { recursive: true, force: true });
    });
    report(results, { name: 'ocirepository-push-to-artifact', value: ours, unit: 'ms', baseline: 'fetch manifest and layer + tar xzf + tar czf', baselineValue: baseline });
  } finally {
    await registry.close();
    await rm(work, { recursive: true, force: true });
  }
}
