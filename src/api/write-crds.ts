/**
 * Writes the generated CRDs to crds/: `node --import tsx src/api/write-crds.ts`.
 * With `--check` nothing is written; the exit code is 1 when a file in crds/ differs from
 * what the API definitions generate (CI runs this to catch forgotten regenerations).
 */
import { readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdKustomization, generateCrds, generatedHeader } from './crdgen.ts';
import type { GeneratedFile } from './crdgen.ts';

const crdDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'crds');

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e: unknown) {
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

/** YAML files in crds/ that carry our header but are no longer generated (a removed kind). */
async function leftovers(expected: readonly GeneratedFile[]): Promise<string[]> {
  const names = new Set(expected.map((f) => f.fileName));
  let entries: string[];
  try {
    entries = await readdir(crdDir);
  } catch {
    return [];
  }
  const stale: string[] = [];
  for (const name of entries) {
    if (!name.endsWith('.yaml') || names.has(name)) continue;
    const text = await readIfExists(path.join(crdDir, name));
    if (text?.startsWith(generatedHeader)) stale.push(name);
  }
  return stale;
}

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes('--check');
  const crds = generateCrds();
  const files = [...crds, crdKustomization(crds)];
  const outdated: string[] = [];
  for (const file of files) {
    const target = path.join(crdDir, file.fileName);
    if ((await readIfExists(target)) === file.yaml) continue;
    outdated.push(file.fileName);
    if (!check) {
      await mkdir(crdDir, { recursive: true });
      await writeFile(target, file.yaml);
    }
  }
  const extra = await leftovers(files);
  if (!check) for (const name of extra) await rm(path.join(crdDir, name));

  if (check) {
    if (outdated.length === 0 && extra.length === 0) {
      console.log(`crds/ is up to date (${files.length} files)`);
      return 0;
    }
    for (const name of outdated) console.error(`stale: crds/${name}`);
    for (const name of extra) console.error(`no longer generated: crds/${name}`);
    console.error('run `node --import tsx src/api/write-crds.ts` to regenerate crds/');
    return 1;
  }
  console.log(`wrote ${outdated.length} of ${files.length} files in crds/, removed ${extra.length}`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
