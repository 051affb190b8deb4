import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from './clock.ts';
import { ExponentialFailureRateLimiter } from './rate-limiter.ts';
import { WorkQueue } from './work-queue.ts';
import { runWorkers } from './workers.ts';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

async function until(condition: () => boolean, maxTicks = 10_000): Promise<void> {
  for (let i = 0; i < maxTicks && !condition(); i++) await tick();
  assert.ok(condition(), 'condition not reached');
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('with concurrency 4, no key runs twice at once and every key runs after its last add', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), pause: fc.nat(3) }), {
        minLength: 1,
        maxLength: 60,
      }),
      fc.array(fc.nat(4), { minLength: 1, maxLength: 16 }),
      async (adds, durations) => {
        const queue = new WorkQueue({ clock: new ManualClock() });
        const running = new Set<string>();
        const lastAdd = new Map<string, number>();
        const lastStart = new Map<string, number>();
        let step = 0;
        let calls = 0;
        let overlaps = 0;
        let peak = 0;
        const pool = runWorkers(queue, 4, async (key) => {
          if (running.has(key)) overlaps++;
          running.add(key);
          peak = Math.max(peak, running.size);
          lastStart.set(key, ++step);
          await ticks(durations[calls++ % durations.length] ?? 0);
          running.delete(key);
        });
        for (const { key, pause } of adds) {
          lastAdd.set(key, ++step);
          queue.add(key);
          await ticks(pause);
        }
        await until(() => queue.len() === 0 && queue.processingLen() === 0);
        await pool.stop();
        assert.equal(overlaps, 0, 'a key ran in two workers at once');
        assert.ok(peak <= 4, `at most 4 handlers at once, saw ${peak}`);
        for (const [key, added] of lastAdd) {
          const started = lastStart.get(key);
          assert.ok(started !== undefined && started > added, `${key} was not processed after its last add`);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('handlers run in parallel up to the concurrency limit', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  const gate = deferred();
  let active = 0;
  let peak = 0;
  const pool = runWorkers(queue, 3, async () => {
    active++;
    peak = Math.max(peak, active);
    await gate.promise;
    active--;
  });
  for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
  await ticks(5);
  assert.equal(peak, 3);
  assert.equal(queue.len(), 2);
  gate.resolve();
  await until(() => queue.len() === 0 && queue.processingLen() === 0);
  await pool.stop();
});

test('a failing key is retried with backoff, reported, and forgotten after success', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock, rateLimiter: new ExponentialFailureRateLimiter({ minDelayMs: 100, maxDelayMs: 1_000 }) });
  const errors: string[] = [];
  let attempts = 0;
  const pool = runWorkers(
    queue,
    2,
    async (key) => {
      attempts++;
      if (attempts <= 2) throw new Error(`boom ${attempts}`);
      assert.equal(key, 'ns/app');
    },
    { onError: (key, e) => errors.push(`${key}: ${(e as Error).message}`) },
  );
  queue.add('ns/app');
  await until(() => attempts === 1 && queue.processingLen() === 0);
  assert.equal(queue.delayedLen(), 1);
  clock.advance(99);
  await ticks(3);
  assert.equal(attempts, 1, 'not retried before 100 ms');
  clock.advance(1);
  await until(() => attempts === 2 && queue.processingLen() === 0);
  clock.advance(199);
  await ticks(3);
  assert.equal(attempts, 2, 'second retry waits 200 ms');
  clock.advance(1);
  await until(() => attempts === 3 && queue.processingLen() === 0);
  assert.deepEqual(errors, ['ns/app: boom 1', 'ns/app: boom 2']);
  assert.equal(queue.numRequeues('ns/app'), 0, 'success forgets the backoff');
  assert.equal(queue.delayedLen(), 0);
  await pool.stop();
});

test('requeueAfterMs schedules the next run; requeue: true backs off without an error', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock, rateLimiter: new ExponentialFailureRateLimiter({ minDelayMs: 7, maxDelayMs: 100 }) });
  const runs: string[] = [];
  const pool = runWorkers(queue, 1, (key) => {
    runs.push(key);
    return key === 'poll' ? { requeueAfterMs: 60_000 } : { requeue: true };
  });
  queue.add('poll');
  queue.add('again');
  await until(() => runs.length === 2 && queue.processingLen() === 0);
  assert.equal(queue.numRequeues('again'), 1);
  clock.advance(7);
  await until(() => runs.length === 3 && queue.processingLen() === 0);
  clock.advance(60_000 - 7);
  await until(() => runs.filter((k) => k === 'poll').length === 2);
  await pool.stop();
});

test('a synchronous throw is handled like a rejected promise', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  let calls = 0;
  const pool = runWorkers(queue, 1, () => {
    calls++;
    throw new Error('sync');
  });
  queue.add('k');
  await until(() => calls === 1 && queue.processingLen() === 0);
  assert.equal(queue.numRequeues('k'), 1);
  await pool.stop();
});

test('stop waits for in-flight handlers and starts no new ones', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  const gate = deferred();
  const started: string[] = [];
  const finished: string[] = [];
  const pool = runWorkers(queue, 2, async (key) => {
    started.push(key);
    await gate.promise;
    finished.push(key);
  });
  for (const key of ['a', 'b', 'c']) queue.add(key);
  await ticks(3);
  assert.deepEqual(started, ['a', 'b']);
  let stopped = false;
  const stopping = pool.stop().then(() => (stopped = true));
  await ticks(3);
  assert.equal(stopped, false, 'stop waits for running handlers');
  gate.resolve();
  await stopping;
  assert.deepEqual(finished.sort(), ['a', 'b']);
  assert.deepEqual(started, ['a', 'b'], 'the queued key was not started after stop');
  assert.equal(queue.processingLen(), 0);
});

test('concurrency must be a positive integer', () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  assert.throws(() => runWorkers(queue, 0, () => undefined), RangeError);
  assert.throws(() => runWorkers(queue, 1.5, () => undefined), RangeError);
});
