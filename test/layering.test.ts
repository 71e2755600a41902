/**
 * The layering guard: src/ areas import only areas below them (DESIGN.md's "Layout"), and no
 * file imports itself back through a cycle. Type-only imports count: a type that reaches up is
 * the same design fault as a value that does.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');

/**
 * Areas from the bottom up. An area may import any area on an earlier line; areas on the same
 * line are peers and may not import each other. `base` is the files directly in src/ (errors,
 * options, stats, ...), which may import each other; `entry` is src/index.ts and the subpath
 * entry points, which re-export areas and are imported by nobody inside src/.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['base'],
  ['kernels'],
  ['data'],
  ['time'],
  ['schedules'],
  ['backend'],
  ['engine'],
  ['models'],
  ['optim'],
  ['train'],
  ['logs'],
  ['io'],
  ['averaging', 'flatness', 'pruning'],
  ['methods'],
  ['runs'],
  ['search', 'tradeoff'],
  ['queue'],
  ['report'],
  ['cli'],
  ['entry'],
];

const ENTRY_FILES = new Set(['index.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
    });
}

function areaOf(file: string): string {
  const parts = relative(src, file).split(sep);
  if (parts.length > 1) return parts[0];
  return ENTRY_FILES.has(parts[0]) ? 'entry' : 'base';
}

/** Relative imports of a file (static, type-only, re-exports and dynamic), as .ts paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(src);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rank = new Map(LAYERS.flatMap((areas, i) => areas.map((a) => [a, i] as const)));
const rel = (f: string) => relative(root, f);

test('every src/ area has a place in the layer table', () => {
  const unknown = [...new Set(files.map(areaOf))].filter((a) => !rank.has(a));
  assert.deepEqual(unknown, [], `add these areas to LAYERS in ${rel(import.meta.filename)}`);
});

test('relative imports in src/ resolve to files that exist', () => {
  const missing = [...graph].flatMap(([from, targets]) =>
    targets.filter((t) => !graph.has(t)).map((t) => `${rel(from)} -> ${rel(t)}`),
  );
  assert.deepEqual(missing, []);
});

test('areas import only areas below them (peers and areas above are refused)', () => {
  const upward: string[] = [];
  for (const [from, targets] of graph) {
    const a = areaOf(from);
    for (const to of targets) {
      const b = areaOf(to);
      if (a === b) continue;
      if (!(rank.get(b)! < rank.get(a)!)) upward.push(`${rel(from)} (${a}) -> ${rel(to)} (${b})`);
    }
  }
  assert.deepEqual(upward, []);
});

test('no import cycle between files', () => {
  // Tarjan's strongly connected components; any component of more than one file is a cycle.
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(rel(w));
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const f of files) if (!order.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});
