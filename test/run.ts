/**
 * Test entry point (`make test`): unit tests, then integration and end-to-end (examples/)
 * tests against ONE local control plane shared by the whole run (each test isolates itself
 * in namespaces), then
 * the conformance suite that reads ../shared/fixtures (it skips itself when absent).
 * The control plane is always stopped, even when tests fail.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { startControlPlane } from '../src/cli/dev/control-plane.ts';
import { installCrds } from '../src/cli/dev/crds.ts';
import { FakeKubelet } from '../src/cli/dev/fake-kubelet.ts';
import { crdsDir, packageRoot } from '../src/config/paths.ts';
import { KubeClient } from '../src/runtime/client/client.ts';
import { createLogger } from '../src/runtime/log/logger.ts';

const root = packageRoot();

async function find(dir: string, suffix: string): Promise<string[]> {
  const entries = await readdir(path.join(root, dir), { recursive: true }).catch(() => [] as string[]);
  return entries
    .filter((f) => f.endsWith(suffix) && !f.includes('node_modules'))
    .map((f) => path.join(dir, f))
    .sort();
}

function runNodeTests(files: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  if (files.length === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  const which = process.argv[2] ?? 'all';
  const filter = process.argv[3];
  const pick = (fs: string[]): string[] => (filter ? fs.filter((f) => f.includes(filter)) : fs);
  let failed = 0;
  if (which === 'all' || which === 'unit') {
    const files = pick([...(await find('src', '.test.ts')), ...(await find('test/unit', '.test.ts'))]);
    console.log(`# unit tests: ${files.length} files`);
    failed += await runNodeTests(files);
  }
  // integration and e2e share one control plane (and its fake kubelet)
  const stages = (['integration', 'e2e'] as const).filter((s) => which === 'all' || which.split(',').includes(s));
  if (stages.length) {
    const log = createLogger('warn');
    const started = Date.now();
    const cp = await startControlPlane();
    let kubelet: FakeKubelet | undefined;
    let client: KubeClient | undefined;
    try {
      client = KubeClient.fromFile(cp.kubeconfigPath);
      await installCrds(client, crdsDir());
      kubelet = new FakeKubelet(client, log);
      await kubelet.start();
      console.log(`# control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      for (const stage of stages) {
        const files = pick(await find(`test/${stage}`, '.test.ts'));
        console.log(`# ${stage} tests: ${files.length} files`);
        failed += await runNodeTests(files, { FLOTILLA_TEST_KUBECONFIG: cp.kubeconfigPath, FLOTILLA_TEST_ETCD: cp.etcdUrl });
      }
    } finally {
      await kubelet?.stop();
      client?.close();
      await cp.stop();
    }
  }
  if (which === 'all' || which === 'conformance') {
    const files = pick(await find('test/conformance', '.test.ts'));
    console.log(`# conformance tests: ${files.length} files`);
    failed += await runNodeTests(files);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
