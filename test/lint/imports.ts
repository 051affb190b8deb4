/**
 * Enforces the dependency direction of STYLE.md:
 *   api ← runtime ← services ← controllers/<kind> ← main.ts / wiring.ts / cli
 * - src/api imports nothing from src (but itself);
 * - src/runtime imports only runtime and api... and never a Flux kind (no api import);
 * - src/services never imports controllers, cli or main;
 * - a controller folder never imports another controller folder.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../../src/config/paths.ts';

const root = packageRoot();
const src = path.join(root, 'src');

type Layer = 'api' | 'runtime' | 'config' | 'services' | 'controllers' | 'cli' | 'root';

function layerOf(rel: string): { layer: Layer; controller?: string } {
  const [top, second] = rel.split(path.sep);
  if (top === 'api' || top === 'runtime' || top === 'config' || top === 'services' || top === 'cli') return { layer: top };
  if (top === 'controllers') return second && second.includes('.') ? { layer: 'controllers' } : { layer: 'controllers', controller: second ?? '' };
  return { layer: 'root' };
}

const allowed: Record<Layer, Layer[]> = {
  api: ['api'],
  runtime: ['runtime'],
  config: ['config', 'runtime'],
  services: ['services', 'runtime', 'api', 'config'],
  controllers: ['controllers', 'services', 'runtime', 'api', 'config'],
  cli: ['cli', 'services', 'runtime', 'api', 'config', 'root', 'controllers'],
  root: ['root', 'controllers', 'services', 'runtime', 'api', 'config', 'cli'],
};

async function main(): Promise<number> {
  const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'));
  const problems: string[] = [];
  for (const f of files) {
    const from = layerOf(f);
    const text = await readFile(path.join(src, f), 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (!spec) continue;
      const target = path.relative(src, path.resolve(path.dirname(path.join(src, f)), spec));
      if (target.startsWith('..')) {
        problems.push(`${f}: imports ${spec}, outside src/`);
        continue;
      }
      const to = layerOf(target);
      if (!allowed[from.layer].includes(to.layer)) problems.push(`src/${f}: ${from.layer} must not import ${to.layer} (${spec})`);
      if (from.controller && to.controller && from.controller !== to.controller) {
        problems.push(`src/${f}: controller ${from.controller} must not import controller ${to.controller} (${spec}); meet through the API or the event bus`);
      }
    }
  }
  for (const p of problems) console.error(p);
  console.log(`import direction: ${files.length} files checked, ${problems.length} problems`);
  return problems.length ? 1 : 0;
}

main().then((c) => process.exit(c));
