import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runBounded } from './bounded-process.ts';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const node = process.execPath;

/** Running or sleeping; a zombie waiting for a reaper (no init in a container) counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

test('stdout, stderr and the exit code are returned; input is fed to stdin', async () => {
  const r = await runBounded(node, ['-e', 'process.stdin.pipe(process.stdout); console.error("err"); process.exitCode = 3'], {
    env,
    timeoutMs: 10_000,
    maxOutputBytes: 1024,
    input: 'hello',
  });
  assert.equal(r.stdout, 'hello');
  assert.equal(r.stderr.trim(), 'err');
  assert.equal(r.exitCode, 3);
  assert.equal(r.timedOut, false);
});

test('the deadline kills the whole process group, grandchildren included', async () => {
  // The child starts a grandchild that would outlive a kill of the child alone.
  const script = `
    const { spawn } = require('node:child_process');
    const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    console.log(g.pid);
    setInterval(() => {}, 1000);`;
  const started = Date.now();
  const r = await runBounded(node, ['-e', script], { env, timeoutMs: 500, maxOutputBytes: 1024 });
  assert.equal(r.timedOut, true);
  assert.ok(Date.now() - started < 5000);
  const grandchild = Number.parseInt(r.stdout, 10);
  assert.ok(grandchild > 0);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(alive(grandchild), false);
});

test('output beyond the cap stops the process', async () => {
  const r = await runBounded(node, ['-e', 'setInterval(() => process.stdout.write("x".repeat(4096)), 1)'], {
    env,
    timeoutMs: 10_000,
    maxOutputBytes: 64 * 1024,
  });
  assert.equal(r.outputTooLarge, true);
  assert.ok(r.stdout.length <= 64 * 1024);
});

test('an abort signal stops the process', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const r = await runBounded(node, ['-e', 'setInterval(() => {}, 1000)'], { env, timeoutMs: 10_000, maxOutputBytes: 1024, signal: controller.signal });
  assert.equal(r.aborted, true);
});

test('a missing executable rejects', async () => {
  await assert.rejects(runBounded('/nonexistent/git', [], { env, timeoutMs: 1000, maxOutputBytes: 1024 }), /ENOENT/);
});
