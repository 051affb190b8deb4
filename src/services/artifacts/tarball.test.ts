import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StallingError } from '../../runtime/errors.ts';
import { extractTarGz } from './extract.ts';
import { buildTarball } from './tarball.ts';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }, label: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `flotilla-${label}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function writeTree(root: string, files: Record<string, string>, order: 'forward' | 'reverse' = 'forward'): Promise<void> {
  const entries = Object.entries(files);
  if (order === 'reverse') entries.reverse();
  for (const [rel, content] of entries) {
    const file = path.join(root, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

/** `tar -tvzf` by the real GNU tar: one line per entry. */
function listWithGnuTar(file: string): string[] {
  return execFileSync('tar', ['--numeric-owner', '-tvzf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })
    .trim()
    .split('\n');
}

function gnuTarNames(file: string): string[] {
  return execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
}

const TREE = {
  'kustomization.yaml': 'resources:\n  - deploy/app.yaml\n',
  'deploy/app.yaml': 'kind: ConfigMap\n',
  'deploy/base/service.yaml': 'kind: Service\n',
  'scripts/run.sh': '#!/bin/sh\necho hi\n',
  'a-b.yaml': 'x: 1\n',
};

test('the same tree gives the same bytes, whatever the mtimes, creation order and umask', async (t) => {
  const work = await tempDir(t, 'tarball');
  const one = path.join(work, 'one');
  const two = path.join(work, 'two');
  await writeTree(one, TREE);
  await writeTree(two, TREE, 'reverse');
  await chmod(path.join(one, 'scripts/run.sh'), 0o755);
  await chmod(path.join(two, 'scripts/run.sh'), 0o711);
  await chmod(path.join(two, 'deploy/app.yaml'), 0o664);
  await utimes(path.join(two, 'deploy/app.yaml'), new Date('2001-01-01'), new Date('2001-01-01'));
  await utimes(path.join(two, 'deploy'), new Date('2002-01-01'), new Date('2002-01-01'));

  const a = await buildTarball(one, path.join(work, 'a.tar.gz'));
  const b = await buildTarball(two, path.join(work, 'b.tar.gz'));
  const again = await buildTarball(one, path.join(work, 'again.tar.gz'));
  const bytesA = await readFile(path.join(work, 'a.tar.gz'));
  assert.deepEqual(await readFile(path.join(work, 'b.tar.gz')), bytesA);
  assert.deepEqual(await readFile(path.join(work, 'again.tar.gz')), bytesA);
  assert.equal(a.digest, b.digest);
  assert.equal(a.digest, again.digest);
  assert.equal(a.digest, `sha256:${createHash('sha256').update(bytesA).digest('hex')}`);
  assert.equal(a.size, bytesA.length);
  assert.equal(a.files, 5);
  assert.equal(a.directories, 3);

  // The gzip header carries no file name and no timestamp.
  assert.equal(bytesA[3], 0, 'gzip FLG: no name, no comment');
  assert.deepEqual([...bytesA.subarray(4, 8)], [0, 0, 0, 0], 'gzip MTIME is zero');
});

test('content and the executable bit change the digest; other mode bits do not', async (t) => {
  const work = await tempDir(t, 'tarball');
  const src = path.join(work, 'src');
  await writeTree(src, TREE);
  const base = await buildTarball(src, path.join(work, '1.tar.gz'));
  await writeFile(path.join(src, 'deploy/app.yaml'), 'kind: Secret\n');
  const edited = await buildTarball(src, path.join(work, '2.tar.gz'));
  assert.notEqual(edited.digest, base.digest);
  await chmod(path.join(src, 'deploy/app.yaml'), 0o700);
  const executable = await buildTarball(src, path.join(work, '3.tar.gz'));
  assert.notEqual(executable.digest, edited.digest);
  await chmod(path.join(src, 'deploy/app.yaml'), 0o640);
  const readable = await buildTarball(src, path.join(work, '4.tar.gz'));
  assert.equal(readable.digest, edited.digest);
});

test('GNU tar reads the archive: sorted, Flux modes, root owner, epoch times', async (t) => {
  const work = await tempDir(t, 'tarball');
  const src = path.join(work, 'src');
  await writeTree(src, TREE);
  await chmod(path.join(src, 'scripts/run.sh'), 0o755);
  await mkdir(path.join(src, 'empty'));
  const out = path.join(work, 'out.tar.gz');
  await buildTarball(src, out);

  assert.deepEqual(gnuTarNames(out), [
    'a-b.yaml',
    'deploy/',
    'deploy/app.yaml',
    'deploy/base/',
    'deploy/base/service.yaml',
    'empty/',
    'kustomization.yaml',
    'scripts/',
    'scripts/run.sh',
  ]);
  const listing = listWithGnuTar(out);
  const line = (name: string): string => listing.find((l) => l.endsWith(` ${name}`)) ?? assert.fail(`no ${name} in ${listing.join('\n')}`);
  assert.match(line('deploy/app.yaml'), /^-rw------- 0\/0 +16 1970-01-01 00:00 deploy\/app\.yaml$/);
  assert.match(line('scripts/run.sh'), /^-rwx------ 0\/0 /);
  assert.match(line('deploy/'), /^drwxr-x--- 0\/0 +0 1970-01-01 00:00 deploy\/$/);
  assert.match(line('empty/'), /^drwxr-x--- /);
});

test('.git, default excludes and ignore rules are applied', async (t) => {
  const work = await tempDir(t, 'tarball');
  const src = path.join(work, 'src');
  await writeTree(src, {
    ...TREE,
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/config': '[core]\n',
    '.gitignore': 'tmp\n',
    'docs/logo.png': 'png',
    '.github/workflows/ci.yaml': 'on: push\n',
    'apps/.sourceignore': '*.md\n',
    'apps/README.md': '# apps\n',
    'apps/app.yaml': 'kind: Deployment\n',
    'README.md': '# root\n',
  });

  const withSourceIgnore = path.join(work, 'a.tar.gz');
  await buildTarball(src, withSourceIgnore);
  const names = gnuTarNames(withSourceIgnore);
  assert.ok(!names.some((n) => n.startsWith('.git/') || n === '.gitignore'), 'VCS files are never archived');
  assert.ok(names.includes('docs/logo.png'), 'a .sourceignore in the tree turns the default excludes off, as in Flux');
  assert.ok(names.includes('README.md'));
  assert.ok(!names.includes('apps/README.md'), 'nested .sourceignore applies to its directory');
  assert.ok(names.includes('apps/.sourceignore'));

  await rm(path.join(src, 'apps/.sourceignore'));
  const defaults = path.join(work, 'b.tar.gz');
  await buildTarball(src, defaults);
  const defaultNames = gnuTarNames(defaults);
  assert.ok(!defaultNames.includes('docs/logo.png'), 'default excludes apply without user patterns');
  assert.ok(!defaultNames.some((n) => n.startsWith('.github')));
  assert.ok(defaultNames.includes('apps/README.md'));

  const specIgnore = path.join(work, 'c.tar.gz');
  await buildTarball(src, specIgnore, { ignore: '/*\n!/deploy/\n' });
  assert.deepEqual(gnuTarNames(specIgnore), ['deploy/', 'deploy/app.yaml', 'deploy/base/', 'deploy/base/service.yaml']);
});

test('in-root symlinks are left out and reported; special files are skipped', async (t) => {
  const work = await tempDir(t, 'tarball');
  const src = path.join(work, 'src');
  await writeTree(src, TREE);
  await symlink('app.yaml', path.join(src, 'deploy/alias.yaml'));
  await symlink('../deploy', path.join(src, 'scripts/deploy-link'));
  await symlink('missing.yaml', path.join(src, 'dangling.yaml'));
  execFileSync('mkfifo', [path.join(src, 'pipe')]);
  const out = path.join(work, 'out.tar.gz');
  const result = await buildTarball(src, out);
  assert.deepEqual(result.skippedSymlinks.sort(), ['dangling.yaml', 'deploy/alias.yaml', 'scripts/deploy-link']);
  const names = gnuTarNames(out);
  assert.ok(!names.includes('deploy/alias.yaml'));
  assert.ok(!names.some((n) => n.startsWith('scripts/deploy-link')), 'a symlinked directory is not followed');
  assert.ok(!names.includes('pipe'));
  assert.equal(result.files, 5);
});

test('symlinks that leave the root fail the build with the paths named', async (t) => {
  const work = await tempDir(t, 'tarball');
  const src = path.join(work, 'src');
  await writeTree(src, TREE);
  await writeFile(path.join(work, 'outside.txt'), 'secret');
  await symlink('/etc/passwd', path.join(src, 'deploy/passwd.yaml'));
  await symlink('../../outside.txt', path.join(src, 'deploy/up.yaml'));
  // An absolute target that starts with the root's path but climbs out of it (TOB-FLUX-10).
  await symlink(`${src}/../outside.txt`, path.join(src, 'prefix-trick.yaml'));
  await symlink('../../nowhere/at/all', path.join(src, 'deploy/dangling-out.yaml'));
  const out = path.join(work, 'out.tar.gz');
  await assert.rejects(buildTarball(src, out), (e: unknown) => {
    assert.ok(e instanceof StallingError);
    assert.equal(e.reason, 'ArtifactFailed');
    for (const p of ['deploy/passwd.yaml', 'deploy/up.yaml', 'prefix-trick.yaml', 'deploy/dangling-out.yaml']) {
      assert.ok(e.message.includes(`'${p}'`), `message names ${p}: ${e.message}`);
    }
    assert.ok(e.message.includes('/etc/passwd'));
    return true;
  });
  assert.deepEqual(await readdir(work), ['outside.txt', 'src'], 'no archive is left behind');

  // An escaping symlink the user ignores is no longer an error.
  const ignored = await buildTarball(src, out, {
    ignore: 'deploy/passwd.yaml\ndeploy/up.yaml\nprefix-trick.yaml\ndeploy/dangling-out.yaml\n',
  });
  assert.equal(ignored.files, 5);
});

test('long and non-ASCII paths round-trip through GNU tar and extractTarGz', async (t) => {
  const work = await tempDir(t, 'tarball');
  const src = path.join(work, 'src');
  const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}`;
  const files = {
    [`${longDir}/${'n'.repeat(90)}.yaml`]: 'long: true\n',
    [`${'x'.repeat(120)}/${'y'.repeat(120)}/${'z'.repeat(120)}.yaml`]: 'pax: true\n',
    'ünïcødé/日本語.yaml': 'utf8: true\n',
    [`${'w'.repeat(150)}.yaml`]: 'no slash to split at\n',
  };
  await writeTree(src, files);
  const out = path.join(work, 'out.tar.gz');
  await buildTarball(src, out);

  const gnu = path.join(work, 'gnu');
  await mkdir(gnu);
  execFileSync('tar', ['-xzf', out, '-C', gnu]);
  const mine = path.join(work, 'mine');
  const result = await extractTarGz(out, mine);
  assert.equal(result.files, 4);
  for (const [rel, content] of Object.entries(files)) {
    assert.equal(await readFile(path.join(gnu, rel), 'utf8'), content, `GNU tar: ${rel}`);
    assert.equal(await readFile(path.join(mine, rel), 'utf8'), content, `extractTarGz: ${rel}`);
  }
});

test('a missing source directory is a transient archive error', async (t) => {
  const work = await tempDir(t, 'tarball');
  await assert.rejects(buildTarball(path.join(work, 'nope'), path.join(work, 'x.tar.gz')), {
    name: 'TransientError',
    reason: 'ArchiveOperationFailed',
  });
});
