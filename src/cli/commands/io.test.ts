import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from './io.ts';
import { Capture, runFlotilla } from './testing.ts';

test('progress symbols are coloured only on a terminal', () => {
  const tty = new Capture(true);
  const pipe = new Capture(false);
  new Progress(tty).success('done');
  new Progress(pipe).success('done');
  assert.equal(tty.text, '\u001b[32m✔\u001b[39m done\n');
  assert.equal(pipe.text, '✔ done\n');
});

test('errors are one ✗ line with a non-zero exit; help exits 0', async () => {
  let r = await runFlotilla(['get', 'ks', '--kubeconfig', '/does/not/exist']);
  assert.deepEqual([r.code, r.stderr, r.stdout], [1, '✗ kubeconfig /does/not/exist does not exist\n', '']);
  r = await runFlotilla(['get', 'ks', '-n', 'Not_A_Namespace']);
  assert.deepEqual([r.code, r.stderr], [1, '✗ namespace must be a valid DNS label: "Not_A_Namespace"\n']);
  r = await runFlotilla(['reconcile', 'ks', 'x', '--timeout', 'forever']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^✗ invalid argument "forever" for "--timeout" flag/);
  r = await runFlotilla(['get', 'ks', '--nope']);
  assert.deepEqual([r.code, r.stderr], [1, "✗ unknown option '--nope'\n"]);
  r = await runFlotilla(['get', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /kustomizations\|ks/);
});
