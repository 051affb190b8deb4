import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { parse as parseYaml } from 'yaml';
import { StallingError } from '../../runtime/errors.ts';
import { decryptDocument, formatForPath, isSopsEncrypted, SopsDecryptor } from './decryptor.ts';
import { ageIdentitiesFromSecret, macAdditionalData, parseAgeKeyFile } from './metadata.ts';
import { encryptForTests } from './testing.ts';

async function newKey(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateIdentity();
  return { identity, recipient: await identityToRecipient(identity) };
}

const SECRET_YAML = `apiVersion: v1
kind: Secret
metadata:
  name: app
  namespace: prod
type: Opaque
stringData:
  password: hunter2-very-secret
  port: "5432"
data:
  token: dG9rZW4=
`;

async function rejectsWithout(p: Promise<unknown>, forbidden: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StallingError, `expected StallingError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes(forbidden), `error message leaks plaintext: ${e.message}`);
    return true;
  });
}

test('YAML round trip with encrypted_regex keeps metadata readable and restores typed values', async () => {
  const key = await newKey();
  const enc = await encryptForTests(SECRET_YAML, 'yaml', [key.recipient], { encryptedRegex: '^(data|stringData)$' });
  assert.ok(!enc.includes('hunter2'), 'ciphertext must not contain the plaintext');
  assert.match(enc, /name: app/);
  assert.ok(isSopsEncrypted(enc));
  const plain = await decryptDocument(enc, 'yaml', [key.identity]);
  assert.deepEqual(parseYaml(plain), parseYaml(SECRET_YAML));
});

test('default unencrypted_suffix encrypts everything except *_unencrypted keys; ints and bools keep their types', async () => {
  const key = await newKey();
  const doc = 'a: 1\nb: true\nc: 1.5\nname_unencrypted: visible\nlist:\n  - x\n  - 2\nempty: ""\nnothing:\n';
  const enc = await encryptForTests(doc, 'yaml', [key.recipient]);
  assert.match(enc, /name_unencrypted: visible/);
  assert.match(enc, /type:int/);
  assert.match(enc, /type:bool/);
  assert.match(enc, /type:float/);
  const plain = parseYaml(await decryptDocument(enc, 'yaml', [key.identity]));
  assert.deepEqual(plain, { a: 1, b: true, c: 1.5, name_unencrypted: 'visible', list: ['x', 2], empty: '', nothing: null });
});

test('encrypted_suffix, unencrypted_regex and mac_only_encrypted documents decrypt', async () => {
  const key = await newKey();
  for (const options of [{ encryptedSuffix: '_secret' }, { unencryptedRegex: '^(kind|metadata)$' }, { macOnlyEncrypted: true }]) {
    const enc = await encryptForTests('kind: Thing\nmetadata:\n  name: x\npass_secret: s3cr3t\nother: plain\n', 'yaml', [key.recipient], options);
    assert.ok(!enc.includes('s3cr3t'));
    const plain = parseYaml(await decryptDocument(enc, 'yaml', [key.identity]));
    assert.equal(plain.pass_secret, 's3cr3t', JSON.stringify(options));
    assert.equal(plain.metadata.name, 'x');
  }
});

test('a changed unencrypted value fails the MAC check', async () => {
  const key = await newKey();
  const enc = await encryptForTests(SECRET_YAML, 'yaml', [key.recipient], { encryptedRegex: '^(data|stringData)$' });
  const tampered = enc.replace('name: app', 'name: other');
  await rejectsWithout(decryptDocument(tampered, 'yaml', [key.identity]), 'hunter2', /MAC mismatch/);
  // Flux itself does not verify the MAC; the check can be turned off for that behaviour.
  const plain = await decryptDocument(tampered, 'yaml', [key.identity], { verifyMac: false });
  assert.equal(parseYaml(plain).stringData.password, 'hunter2-very-secret');
});

test('swapping two encrypted values is caught by their additional data', async () => {
  const key = await newKey();
  const enc = await encryptForTests('a: one-secret\nb: two-secret\n', 'yaml', [key.recipient]);
  const lines = enc.split('\n');
  const a = lines.findIndex((l) => l.startsWith('a: '));
  const b = lines.findIndex((l) => l.startsWith('b: '));
  const swapped = [...lines];
  swapped[a] = `a: ${lines[b]?.slice(3) ?? ''}`;
  swapped[b] = `b: ${lines[a]?.slice(3) ?? ''}`;
  await rejectsWithout(decryptDocument(swapped.join('\n'), 'yaml', [key.identity]), 'secret', /cannot decrypt the value at 'a'/);
});

test('the wrong key fails with a message naming recipients, never the plaintext', async () => {
  const key = await newKey();
  const other = await newKey();
  const enc = await encryptForTests(SECRET_YAML, 'yaml', [key.recipient], { encryptedRegex: '^(data|stringData)$' });
  await rejectsWithout(decryptDocument(enc, 'yaml', [other.identity]), 'hunter2', /none of the 1 age identities matches/);
  await rejectsWithout(decryptDocument(enc, 'yaml', []), 'hunter2', /no age identities were provided/);
});

test('any one of several identities and several recipients works', async () => {
  const k1 = await newKey();
  const k2 = await newKey();
  const k3 = await newKey();
  const enc = await encryptForTests('x: y\n', 'yaml', [k1.recipient, k2.recipient]);
  assert.deepEqual(parseYaml(await decryptDocument(enc, 'yaml', [k3.identity, k2.identity])), { x: 'y' });
});

test('JSON, dotenv and binary round trips', async () => {
  const key = await newKey();
  const json = '{"user": "admin", "nested": {"n": 3, "list": [1.5, "x", null], "html": "<a&b>"}}';
  const encJson = await encryptForTests(json, 'json', [key.recipient]);
  const plainJson = await decryptDocument(encJson, 'json', [key.identity]);
  assert.deepEqual(JSON.parse(plainJson), JSON.parse(json));
  assert.match(plainJson, /^\{\n\t"user": "admin",/, 'Go json.Indent layout with tabs');
  assert.match(plainJson, /\\u003ca\\u0026b\\u003e/, "Go's HTML-safe escaping");

  const env = 'USER=admin\n# a comment\nPASSWORD=p@ss=word\nMULTI=a\\nb\n';
  const encEnv = await encryptForTests(env, 'dotenv', [key.recipient]);
  assert.ok(!encEnv.includes('p@ss'));
  assert.equal(await decryptDocument(encEnv, 'dotenv', [key.identity]), env);

  const bin = 'line one\nline two\u0000binary';
  const encBin = await encryptForTests(bin, 'binary', [key.recipient]);
  assert.equal(await decryptDocument(encBin, 'binary', [key.identity]), bin);
});

test('multi-document YAML shares one data key and one MAC', async () => {
  const key = await newKey();
  const enc = await encryptForTests('a: 1\n---\nb: 2\n', 'yaml', [key.recipient]);
  assert.equal((enc.match(/^sops:/gm) ?? []).length, 2);
  const out = await decryptDocument(enc, 'yaml', [key.identity]);
  assert.deepEqual(out.split(/^---$/m).map((d) => parseYaml(d)), [{ a: 1 }, { b: 2 }]);
});

test('decryptObjects: whole objects, Secret data values holding SOPS documents, and the opt-out annotation', async () => {
  const key = await newKey();
  const decryptor = await SopsDecryptor.create([key.identity]);
  const whole = parseYaml(await encryptForTests(SECRET_YAML, 'yaml', [key.recipient], { encryptedRegex: '^(data|stringData)$' }));
  const [out] = await decryptor.decryptObjects([whole]);
  assert.equal(out.stringData.password, 'hunter2-very-secret');
  assert.equal(out.sops, undefined);
  assert.ok(whole.sops, 'input objects are not modified');

  const fileDoc = await encryptForTests('{"user": "u", "pass": "value-from-file"}', 'json', [key.recipient]);
  const envDoc = await encryptForTests('A=from-env\n', 'dotenv', [key.recipient]);
  const binDoc = await encryptForTests('raw-bytes', 'binary', [key.recipient]);
  const generated = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'gen' },
    data: {
      'config.json': Buffer.from(fileDoc).toString('base64'),
      'app.env': Buffer.from(envDoc).toString('base64'),
      key: Buffer.from(binDoc).toString('base64'),
      plain: Buffer.from('untouched').toString('base64'),
    },
  };
  const gen = (await decryptor.decryptObjects([generated]))[0] as { data: Record<string, string> };
  const dataOf = (k: string): string => Buffer.from(gen.data[k] ?? '', 'base64').toString('utf8');
  assert.deepEqual(JSON.parse(dataOf('config.json')), { user: 'u', pass: 'value-from-file' });
  assert.equal(dataOf('key'), 'raw-bytes', 'a key without extension gets the binary data');
  assert.equal(dataOf('plain'), 'untouched');
  assert.equal(dataOf('app.env'), 'A=from-env\n');
  // As in Flux, a dotenv document under a key without extension has no binary 'data' entry.
  const bad = { ...generated, data: { env: generated.data['app.env'] } };
  await assert.rejects(decryptor.decryptObjects([bad]), /data key 'env'/);

  const disabled = structuredClone(whole);
  disabled.metadata.annotations = { 'kustomize.toolkit.fluxcd.io/decrypt': 'Disabled' };
  const [kept] = await decryptor.decryptObjects([disabled]);
  assert.ok(kept.sops, 'objects that opted out stay encrypted');
});

test('decryptObjects accepts a transformed object only when its MAC was verified at the source', async () => {
  const key = await newKey();
  const decryptor = await SopsDecryptor.create([key.identity]);
  const whole = parseYaml(await encryptForTests(SECRET_YAML, 'yaml', [key.recipient], { encryptedRegex: '^(data|stringData)$' }));
  const built = structuredClone(whole);
  built.metadata.name = 'prefix-app'; // what a namePrefix does
  await rejectsWithout(decryptor.decryptObjects([built]), 'hunter2', /MAC mismatch/);
  const [out] = await decryptor.decryptObjects([built], { verifiedMacs: new Set([whole.sops.mac]) });
  assert.equal(out.stringData.password, 'hunter2-very-secret');
});

test('decryptFilesInDir decrypts generator inputs and patches in place, verifies resource MACs, and stays inside the root', async () => {
  const key = await newKey();
  const root = await mkdtemp(path.join(os.tmpdir(), 'sops-dir-'));
  try {
    const app = path.join(root, 'app');
    await mkdir(path.join(app, 'base'), { recursive: true });
    await writeFile(path.join(app, 'secret.env'), await encryptForTests('PASSWORD=from-env\n', 'dotenv', [key.recipient]));
    await writeFile(path.join(app, 'token.txt'), await encryptForTests('token-bytes', 'binary', [key.recipient]));
    await writeFile(path.join(app, 'patch.yaml'), await encryptForTests(SECRET_YAML, 'yaml', [key.recipient], { encryptedRegex: '^(data|stringData)$' }));
    const resource = await encryptForTests(SECRET_YAML, 'yaml', [key.recipient], { encryptedRegex: '^(data|stringData)$' });
    await writeFile(path.join(app, 'base', 'secret.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\n${resource}`);
    await writeFile(path.join(app, 'base', 'kustomization.yaml'), 'resources:\n  - secret.yaml\n');
    await writeFile(
      path.join(app, 'kustomization.yaml'),
      [
        'resources:',
        '  - base',
        'secretGenerator:',
        '  - name: gen',
        '    envs: [secret.env]',
        '    files: [token=token.txt]',
        'patches:',
        '  - path: patch.yaml',
        '',
      ].join('\n'),
    );
    const decryptor = await SopsDecryptor.create([key.identity]);
    const result = await decryptor.decryptFilesInDir(root, app);
    assert.deepEqual(result.decryptedFiles, ['app/patch.yaml', 'app/secret.env', 'app/token.txt']);
    assert.equal(await readFile(path.join(app, 'secret.env'), 'utf8'), 'PASSWORD=from-env\n');
    assert.equal(await readFile(path.join(app, 'token.txt'), 'utf8'), 'token-bytes');
    assert.equal(parseYaml(await readFile(path.join(app, 'patch.yaml'), 'utf8')).stringData.password, 'hunter2-very-secret');
    assert.ok(isSopsEncrypted(await readFile(path.join(app, 'base', 'secret.yaml'), 'utf8')), 'resources stay encrypted');
    assert.equal(result.verifiedMacs.size, 1);
    assert.ok(result.verifiedMacs.has(parseYaml(resource).sops.mac));

    // A generator file reached through a symlink that leaves the root is refused.
    const outside = await mkdtemp(path.join(os.tmpdir(), 'sops-outside-'));
    try {
      await writeFile(path.join(outside, 'x.env'), await encryptForTests('A=b\n', 'dotenv', [key.recipient]));
      await symlink(path.join(outside, 'x.env'), path.join(app, 'escape.env'));
      await writeFile(path.join(app, 'kustomization.yaml'), 'secretGenerator:\n  - name: g\n    envs: [escape.env]\n');
      await assert.rejects(decryptor.decryptFilesInDir(root, app), /outside the artifact/);
      await writeFile(path.join(app, 'kustomization.yaml'), 'secretGenerator:\n  - name: g\n    envs: [../../etc/passwd]\n');
      await assert.rejects(decryptor.decryptFilesInDir(root, app), /outside the artifact/);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('age identities come from *.agekey entries, several per entry', async () => {
  const k1 = await newKey();
  const k2 = await newKey();
  const file = `# created: now\n# public key: ${k1.recipient}\n${k1.identity}\n\n${k2.identity}\n`;
  assert.deepEqual(parseAgeKeyFile(file), [k1.identity, k2.identity]);
  const ids = ageIdentitiesFromSecret({
    data: { 'a.agekey': Buffer.from(file).toString('base64'), 'other.txt': Buffer.from(k2.identity).toString('base64') },
  });
  assert.deepEqual(ids, [k1.identity, k2.identity]);
  await assert.rejects(SopsDecryptor.create(['AGE-SECRET-KEY-1NOTAKEY']), (e: unknown) => {
    assert.ok(e instanceof StallingError);
    assert.ok(!e.message.includes('NOTAKEY'), 'a bad key is not echoed');
    return true;
  });
});

test('formats and markers as Flux detects them', () => {
  assert.equal(formatForPath('a/b.yaml'), 'yaml');
  assert.equal(formatForPath('x.yml'), 'yaml');
  assert.equal(formatForPath('x.json'), 'json');
  assert.equal(formatForPath('.env'), 'binary');
  assert.equal(formatForPath('prod.env'), 'dotenv');
  assert.equal(formatForPath('.dockerconfigjson'), 'json');
  assert.equal(formatForPath('key'), 'binary');
  assert.equal(isSopsEncrypted({ kind: 'Secret', sops: { mac: 'x' } }), true);
  assert.equal(isSopsEncrypted({ kind: 'Secret', data: {} }), false);
  assert.equal(isSopsEncrypted('plain: text'), false);
});

test('the MAC is bound to lastmodified as Go formats it', () => {
  assert.equal(macAdditionalData('2024-11-12T13:33:42Z'), '2024-11-12T13:33:42Z');
  assert.equal(macAdditionalData('2024-11-12T13:33:42.123456Z'), '2024-11-12T13:33:42Z');
  assert.equal(macAdditionalData('2024-11-12T14:33:42+01:00'), '2024-11-12T14:33:42+01:00');
  assert.equal(macAdditionalData('2024-11-12T13:33:42+00:00'), '2024-11-12T13:33:42Z');
});
