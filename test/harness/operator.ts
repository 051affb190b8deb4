import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig, type RawOptions } from '../../src/config/config.ts';
import { startOperator, type Operator } from '../../src/main.ts';
import { createLogger, silentLogger } from '../../src/runtime/log/logger.ts';

export interface TestOperator extends Operator {
  storagePath: string;
}

/**
 * The flags that give an operator running in a test process what a pod would own:
 * ephemeral listen addresses, and retries short enough for a test.
 */
export const inProcessFlags = {
  storageAddr: '127.0.0.1:0',
  storageAdvAddr: '127.0.0.1:0',
  metricsAddr: '127.0.0.1:0',
  healthAddr: '127.0.0.1:0',
  receiverAddr: '127.0.0.1:0',
  minRetryDelay: '500ms',
  maxRetryDelay: '5s',
  requeueDependency: '2s',
} as const satisfies RawOptions;

/** The environment of an operator in a test process: `namespace` stands for the pod's. */
export function inProcessEnv(namespace: string): NodeJS.ProcessEnv {
  return { ...process.env, RUNTIME_NAMESPACE: namespace, POD_NAME: `test-${namespace}` };
}

/**
 * The real operator, in this process, watching only `namespace` (so test files sharing
 * one control plane do not see each other's objects), on ephemeral ports.
 * FLOTILLA_TEST_LOG=1 shows its logs.
 */
export async function startTestOperator(kubeconfigPath: string, namespace: string, flags: RawOptions = {}): Promise<TestOperator> {
  const storagePath = await mkdtemp(path.join(os.tmpdir(), 'flotilla-artifacts-'));
  const cfg = resolveConfig(
    { kubeconfig: kubeconfigPath, storagePath, ...inProcessFlags, watchAllNamespaces: false, ...flags },
    inProcessEnv(namespace),
  );
  const log = process.env['FLOTILLA_TEST_LOG'] ? createLogger('debug') : silentLogger();
  const op = await startOperator(cfg, log);
  await op.leading;
  return {
    ...op,
    storagePath,
    async stop() {
      await op.stop();
      await rm(storagePath, { recursive: true, force: true });
    },
  };
}
