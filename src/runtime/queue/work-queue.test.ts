import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, MAX_TIMER_DELAY_MS } from './clock.ts';
import { ExponentialFailureRateLimiter } from './rate-limiter.ts';
import { WorkQueue } from './work-queue.ts';

/** Resolves with the value, or with 'pending' if the promise has not settled after a macrotask. */
async function settled<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

test('a key added twice is handed out once, in FIFO order with the others', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('ns/a');
  queue.add('ns/b');
  queue.add('ns/a');
  assert.equal(queue.len(), 2);
  assert.equal(await queue.get(), 'ns/a');
  assert.equal(await queue.get(), 'ns/b');
  assert.equal(queue.len(), 0);
  assert.equal(await settled(queue.get()), 'pending');
});

test('a waiting get receives the next added key', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  const next = queue.get();
  queue.add('x');
  assert.equal(await next, 'x');
});

test('a key added while held is not handed out until done, then exactly once', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('k');
  assert.equal(await queue.get(), 'k');
  queue.add('k');
  queue.add('k');
  assert.equal(queue.len(), 0, 'held key is not ready');
  const second = queue.get();
  assert.equal(await settled(second), 'pending');
  queue.done('k');
  assert.equal(await second, 'k');
  queue.done('k');
  assert.equal(queue.len(), 0);
  assert.equal(await settled(queue.get()), 'pending');
});

test('done for a key not held is ignored', () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('k');
  queue.done('k');
  assert.equal(queue.len(), 1);
});

test('delayed adds of one key merge to the earliest due time', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  queue.addAfter('k', 100);
  queue.addAfter('k', 50);
  queue.addAfter('k', 200);
  assert.equal(queue.delayedLen(), 1);
  assert.equal(clock.pendingTimers(), 1, 'the superseded timer is cancelled');
  clock.advance(49);
  assert.equal(queue.len(), 0);
  clock.advance(1);
  assert.equal(queue.len(), 1);
  assert.equal(await queue.get(), 'k');
  queue.done('k');
  clock.advance(1_000);
  assert.equal(queue.len(), 0, 'the later adds were merged away, not kept');
  assert.equal(clock.pendingTimers(), 0);
});

test('a zero or negative delay adds at once', () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.addAfter('a', 0);
  queue.addAfter('b', -5);
  assert.equal(queue.len(), 2);
  assert.equal(queue.delayedLen(), 0);
});

test('a delayed key that falls due while already queued is not duplicated', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  queue.addAfter('k', 10);
  queue.add('k');
  clock.advance(10);
  assert.equal(queue.len(), 1);
  assert.equal(await queue.get(), 'k');
  assert.equal(queue.len(), 0);
});

test('delays longer than a Node timer can wait are re-armed, not fired early', () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  const fortyDays = 40 * 24 * 3600 * 1000;
  assert.ok(fortyDays > MAX_TIMER_DELAY_MS);
  queue.addAfter('k', fortyDays);
  clock.advance(1);
  assert.equal(queue.len(), 0, 'not fired after 1 ms');
  clock.advance(MAX_TIMER_DELAY_MS);
  assert.equal(queue.len(), 0, 'not fired after the first timer');
  clock.advance(fortyDays - MAX_TIMER_DELAY_MS - 2);
  assert.equal(queue.len(), 0, 'not fired 1 ms early');
  clock.advance(1);
  assert.equal(queue.len(), 1);
});

test('rate-limited adds back off 750 ms, 1.5 s, 3 s per key and forget resets', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock, rateLimiter: new ExponentialFailureRateLimiter() });
  const dueAfter = async (): Promise<number> => {
    let waited = 0;
    while (queue.len() === 0) {
      clock.advance(1);
      waited++;
    }
    const key = await queue.get();
    assert.equal(key, 'k');
    queue.done('k');
    return waited;
  };
  queue.addRateLimited('k');
  assert.equal(await dueAfter(), 750);
  queue.addRateLimited('k');
  assert.equal(await dueAfter(), 1_500);
  queue.addRateLimited('k');
  assert.equal(await dueAfter(), 3_000);
  assert.equal(queue.numRequeues('k'), 3);
  queue.forget('k');
  queue.addRateLimited('k');
  assert.equal(await dueAfter(), 750);
});

test('shutDown wakes waiting gets with undefined and ignores later adds', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  const waiting = queue.get();
  queue.addAfter('later', 10);
  queue.shutDown();
  assert.equal(await waiting, undefined);
  queue.add('x');
  queue.addRateLimited('y');
  assert.equal(queue.len(), 0);
  assert.equal(queue.delayedLen(), 0);
  assert.equal(clock.pendingTimers(), 0, 'delayed timers are cancelled');
  assert.equal(await queue.get(), undefined);
  assert.equal(queue.shuttingDown, true);
});

test('shutDownWithDrain resolves only once held keys are done', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('a');
  queue.add('b');
  assert.equal(await queue.get(), 'a');
  const drained = queue.shutDownWithDrain();
  assert.equal(await settled(drained), 'pending');
  assert.equal(await queue.get(), undefined, 'queued keys are not handed out after shutdown');
  queue.done('a');
  assert.equal(await settled(drained), undefined);
});

test('metrics hooks see depth, adds, retries, queue latency and work duration', async () => {
  const clock = new ManualClock();
  const seen = { depth: [] as number[], added: 0, retried: 0, latency: [] as number[], work: [] as number[] };
  const queue = new WorkQueue({
    name: 'kustomization',
    clock,
    metrics: {
      depth: (d) => seen.depth.push(d),
      added: () => seen.added++,
      retried: () => seen.retried++,
      queueLatency: (s) => seen.latency.push(s),
      workDuration: (s) => seen.work.push(s),
    },
  });
  queue.add('a');
  queue.add('a');
  queue.add('b');
  clock.advance(2_000);
  assert.equal(await queue.get(), 'a');
  clock.advance(500);
  assert.equal(queue.longestRunningProcessorSeconds(), 0.5);
  assert.equal(await queue.get(), 'b');
  clock.advance(250);
  assert.equal(queue.unfinishedWorkSeconds(), 0.75 + 0.25);
  queue.done('a');
  queue.addRateLimited('a');
  assert.equal(seen.added, 2, 'a deduplicated add is not counted');
  assert.equal(seen.retried, 1);
  assert.deepEqual(seen.latency, [2, 2.5]);
  assert.deepEqual(seen.work, [0.75]);
  assert.deepEqual(seen.depth, [1, 2, 1, 0]);
  assert.equal(queue.name, 'kustomization');
});
