import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header, Pax, type HeaderData } from 'tar';
import { StallingError, TransientError } from '../../runtime/errors.ts';
import { extractTarGz } from './extract.ts';
import { endOfArchive, paddingFor } from './tar-header.ts';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flotilla-extract-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type Entry = HeaderData & { body?: string | Buffer; pax?: Record<string, string>; gnuLongName?: string };

/** Hand-builds a tar stream, including entries no well-behaved packer would write. */
function tarBytes(entries: readonly Entry[], end = true): Buffer {
  const parts: Buffer[] = [];
  const block = (data: HeaderData): Buffer => {
    const buf = Buffer.alloc(512);
    new Header({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), ...data }).encode(buf, 0);
    return buf;
  };
  const withBody = (header: Buffer, body: Buffer): void => {
    parts.push(header, body, Buffer.alloc(paddingFor(body.length)));
  };
  for (const { body, pax, gnuLongName, ...data } of entries) {
    if (pax !== undefined) parts.push(new Pax({ ...pax }).encode());
    if (gnuLongName !== undefined) {
      const name = Buffer.from(`${gnuLongName}\0`);
      withBody(block({ path: '././@LongLink', type: 'NextFileHasLongPath', size: name.length }), name);
    }
    const content = typeof body === 'string' ? Buffer.from(body) : body ?? Buffer.alloc(0);
    withBody(block({ size: data.type === 'File' || data.type === undefined ? content.length : 0, ...data }), content);
  }
  if (end) parts.push(endOfArchive());
  return Buffer.concat(parts);
}

function tarGz(entries: readonly Entry[]): Buffer {
  return gzipSync(tarBytes(entries));
}

async function archiveFile(dir: string, bytes: Buffer, name = 'in.tar.gz'): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

async function assertRefused(
  work: string,
  entries: readonly Entry[] | Buffer,
  expected: RegExp,
  limits: Parameters<typeof extractTarGz>[2] = {},
): Promise<void> {
  const file = await archiveFile(work, Buffer.isBuffer(entries) ? entries : tarGz(entries));
  const dest = path.join(work, 'dest');
  await assert.rejects(extractTarGz(file, dest, limits), (e: unknown) => {
    assert.ok(e instanceof StallingError, `expected StallingError, got ${String(e)}`);
    assert.equal(e.reason, 'ArtifactFailed');
    assert.match(e.message, expected);
    return true;
  });
  assert.deepEqual(await readdir(dest), [], 'a refused archive leaves nothing behind');
}

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const work = await tempDir(t);
  await mkdir(path.join(work, 'outside'));
  return work;
}

async function outsideUntouched(work: string): Promise<void> {
  assert.deepEqual(await readdir(path.join(work, 'outside')), []);
  assert.deepEqual((await readdir(work)).sort(), ['dest', 'in.tar.gz', 'outside']);
}

test('a well-formed archive is extracted with safe modes', async (t) => {
  const work = await setup(t);
  const file = await archiveFile(work, tarGz([
    { path: './', type: 'Directory', mode: 0o755 },
    { path: 'deploy/', type: 'Directory', mode: 0o000 },
    { path: 'deploy/app.yaml', body: 'kind: ConfigMap\n', mode: 0o600 },
    { path: 'bin/run', body: '#!/bin/sh\n', mode: 0o700 },
    { path: 'empty.txt', body: '' },
    { path: 'x'.repeat(90), body: 'pax path', pax: { path: `long/${'x'.repeat(200)}/${'y'.repeat(200)}` } },
    { path: 'placeholder', body: 'gnu path', gnuLongName: `gnu/${'g'.repeat(200)}` },
  ]));
  const dest = path.join(work, 'dest');
  const result = await extractTarGz(file, dest);
  assert.equal(result.files, 5);
  assert.equal(result.directories, 2, 'the ./ entry counts but creates nothing');
  assert.equal(result.bytes, 16 + 10 + 0 + 8 + 8);
  assert.match(result.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await readFile(path.join(dest, 'deploy/app.yaml'), 'utf8'), 'kind: ConfigMap\n');
  assert.equal(await readFile(path.join(dest, 'long', 'x'.repeat(200), 'y'.repeat(200)), 'utf8'), 'pax path');
  assert.equal(await readFile(path.join(dest, 'gnu', 'g'.repeat(200)), 'utf8'), 'gnu path');
  assert.equal((await stat(path.join(dest, 'deploy'))).mode & 0o777, 0o755, 'a 0000 directory is made traversable');
  assert.equal((await stat(path.join(dest, 'deploy/app.yaml'))).mode & 0o700, 0o600);
  assert.equal((await stat(path.join(dest, 'bin/run'))).mode & 0o100, 0o100, 'the executable bit is kept');
});

test('archives from GNU tar and node-tar are accepted, from a stream too', async (t) => {
  const work = await setup(t);
  const src = path.join(work, 'outside');
  await mkdir(path.join(src, 'a/b'), { recursive: true });
  await writeFile(path.join(src, 'a/b/c.yaml'), 'c: 1\n');
  const gnu = path.join(work, 'gnu.tar.gz');
  execFileSync('tar', ['-czf', gnu, '-C', src, '.']);
  const dest = path.join(work, 'dest');
  const result = await extractTarGz(Readable.from([await readFile(gnu)]), dest);
  assert.equal(result.files, 1);
  assert.equal(await readFile(path.join(dest, 'a/b/c.yaml'), 'utf8'), 'c: 1\n');
  await rm(path.join(src, 'a'), { recursive: true });
});

for (const [label, entryPath] of [
  ['parent traversal', '../outside/evil'],
  ['nested traversal', 'a/../../outside/evil'],
  ['absolute path', '/tmp/evil'],
  ['backslash traversal', 'a\\..\\..\\evil'],
  ['drive letter', 'C:/evil'],
] as const) {
  test(`refuses an entry with a ${label}`, async (t) => {
    const work = await setup(t);
    await assertRefused(work, [{ path: 'ok.yaml', body: 'fine' }, { path: entryPath, body: 'evil' }], /leaves the extraction directory/);
    await outsideUntouched(work);
  });
}

test('refuses traversal hidden in a PAX or GNU long name', async (t) => {
  const work = await setup(t);
  await assertRefused(work, [{ path: 'innocent', body: 'evil', pax: { path: '../outside/pax' } }], /'..\/outside\/pax'/);
  await outsideUntouched(work);
  await rm(path.join(work, 'dest'), { recursive: true });
  await assertRefused(work, [{ path: 'innocent', body: 'evil', gnuLongName: '../../outside/gnu' }], /leaves the extraction directory/);
  await outsideUntouched(work);
});

test('refuses symlinks, hard links, devices and FIFOs', async (t) => {
  const work = await setup(t);
  const cases: Array<[Entry, RegExp]> = [
    [{ path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' }, /'link' is a symlink/],
    [{ path: 'hard', type: 'Link', linkpath: 'ok.yaml' }, /'hard' is a hard link/],
    [{ path: 'tty', type: 'CharacterDevice', devmaj: 5, devmin: 0 }, /'tty' is a device/],
    [{ path: 'disk', type: 'BlockDevice' }, /'disk' is a device/],
    [{ path: 'pipe', type: 'FIFO' }, /'pipe' is a FIFO/],
  ];
  for (const [entry, expected] of cases) {
    await assertRefused(work, [{ path: 'ok.yaml', body: 'fine' }, entry, { path: 'after.yaml', body: 'x' }], expected);
    await outsideUntouched(work);
    await rm(path.join(work, 'dest'), { recursive: true });
  }
});

test('a symlink followed by a write through it cannot escape', async (t) => {
  const work = await setup(t);
  await assertRefused(work, [
    { path: 'dir', type: 'SymbolicLink', linkpath: '../outside' },
    { path: 'dir/evil', body: 'evil' },
  ], /symlink/);
  await outsideUntouched(work);
});

test('skipSymlinks leaves symlink entries out instead of refusing', async (t) => {
  const work = await setup(t);
  const file = await archiveFile(work, tarGz([
    { path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' },
    { path: 'ok.yaml', body: 'fine' },
  ]));
  const result = await extractTarGz(file, path.join(work, 'dest'), { skipSymlinks: true });
  assert.deepEqual(result.skippedSymlinks, ['link']);
  assert.deepEqual(await readdir(path.join(work, 'dest')), ['ok.yaml']);
});

test('refuses duplicate paths and file/directory conflicts', async (t) => {
  const work = await setup(t);
  const cases: Array<readonly Entry[]> = [
    [{ path: 'a.yaml', body: '1' }, { path: 'a.yaml', body: '2' }],
    [{ path: 'a', body: 'file' }, { path: 'a/', type: 'Directory' }],
    [{ path: 'a/', type: 'Directory' }, { path: 'a', body: 'file' }],
    [{ path: 'a', body: 'file' }, { path: 'a/b', body: 'nested under a file' }],
  ];
  for (const entries of cases) {
    await assertRefused(work, entries, /appears twice|conflicts/);
    await rm(path.join(work, 'dest'), { recursive: true });
  }
});

test('refuses more files than maxFiles', async (t) => {
  const work = await setup(t);
  const entries = Array.from({ length: 4 }, (_, i) => ({ path: `f${i}`, body: 'x' }));
  await assertRefused(work, entries, /more than 3 files and directories/, { maxFiles: 3 });
  const ok = await archiveFile(work, tarGz(entries.slice(0, 3)), 'ok.tar.gz');
  const result = await extractTarGz(ok, path.join(work, 'fits'), { maxFiles: 3 });
  assert.equal(result.files, 3);
});

test('refuses content beyond maxBytes, before writing the entry', async (t) => {
  const work = await setup(t);
  await assertRefused(work, [{ path: 'a', body: '12345' }, { path: 'b', body: '123456' }], /larger than the limit of 10 bytes \(at entry 'b'/, { maxBytes: 10 });
});

test('refuses a header that claims a huge size without reading it', async (t) => {
  const work = await setup(t);
  const header = Buffer.alloc(512);
  new Header({ path: 'huge', type: 'File', size: 2 ** 40, mode: 0o644, mtime: new Date(0) }).encode(header, 0);
  await assertRefused(work, gzipSync(Buffer.concat([header, Buffer.alloc(512)])), /larger than the limit/);
});

test('refuses a gzip bomb of zeros after the end of the archive', async (t) => {
  const work = await setup(t);
  const bomb = gzipSync(Buffer.concat([tarBytes([{ path: 'a', body: 'x' }]), Buffer.alloc(16 * 1024 * 1024)]));
  assert.ok(bomb.length < 64 * 1024, 'the bomb is small compressed');
  await assertRefused(work, bomb, /after the end of the archive/);
});

test('refuses corrupt headers and non-gzip input', async (t) => {
  const work = await setup(t);
  const raw = tarBytes([{ path: 'a', body: 'x' }]);
  raw[0] = 'b'.charCodeAt(0); // name changed after the checksum was computed
  await assertRefused(work, gzipSync(raw), /checksum/);
  await rm(path.join(work, 'dest'), { recursive: true });
  await assertRefused(work, Buffer.from('this is not gzip at all, just text'), /not a valid gzip archive/);
});

test('a truncated archive is transient', async (t) => {
  const work = await setup(t);
  const whole = tarGz([{ path: 'a', body: 'x'.repeat(10_000) }]);
  const file = await archiveFile(work, whole.subarray(0, Math.floor(whole.length / 2)));
  await assert.rejects(extractTarGz(file, path.join(work, 'dest')), (e: unknown) => e instanceof TransientError && /truncated/.test(e.message));
  assert.deepEqual(await readdir(path.join(work, 'dest')), []);
});

test('a digest mismatch is transient and leaves nothing behind', async (t) => {
  const work = await setup(t);
  const file = await archiveFile(work, tarGz([{ path: 'a', body: 'x' }]));
  const dest = path.join(work, 'dest');
  const first = await extractTarGz(file, dest);
  await rm(dest, { recursive: true });
  const again = await extractTarGz(file, dest, { expectedDigest: first.digest });
  assert.equal(again.digest, first.digest);
  await rm(dest, { recursive: true });
  await assert.rejects(
    extractTarGz(file, dest, { expectedDigest: `sha256:${'0'.repeat(64)}` }),
    (e: unknown) => e instanceof TransientError && e.reason === 'ArtifactFailed' && /digest mismatch/.test(e.message),
  );
  assert.deepEqual(await readdir(dest), []);
});

test('the destination must be empty', async (t) => {
  const work = await setup(t);
  const file = await archiveFile(work, tarGz([{ path: 'a', body: 'x' }]));
  const dest = path.join(work, 'dest');
  await mkdir(dest);
  await writeFile(path.join(dest, 'keep-me'), 'mine');
  await assert.rejects(extractTarGz(file, dest), /not empty/);
  assert.equal(await readFile(path.join(dest, 'keep-me'), 'utf8'), 'mine', 'existing content is not removed');
});
