/**
 * The code in the docs is code: every ```ts / ```js block of README.md, bench/README.md and
 * src/**\/README.md is typechecked against the built package's types (dist/, imported as
 * `anneal` and its subpaths, exactly as a user imports it). A block marked ```ts excerpt is a
 * fragment and is skipped; a block marked ```ts run is a whole program on small data and also
 * runs, and must exit 0.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
// Inside the package, so `import ... from 'anneal'` resolves to this package's exports (dist/);
// one folder per run, so two runs at once do not share files.
mkdirSync(join(root, 'dist'), { recursive: true });
const workDir = mkdtempSync(join(root, 'dist', 'doc-blocks-'));

interface Block {
  source: string; // file:line, for messages
  lang: 'ts' | 'js';
  mode: 'check' | 'run' | 'excerpt';
  code: string;
}

const LANGS: Record<string, Block['lang']> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
};

function readmes(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return readmes(path);
      return name === 'README.md' ? [path] : [];
    });
}

/** Fenced blocks of a markdown file whose language is ts/js, with their mode. */
export function codeBlocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})\s*(\w+)?\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info = '', rest] = open;
    let end = i + 1;
    while (end < lines.length && !lines[end].startsWith(indent + fence)) end++;
    const lang = LANGS[info.toLowerCase()];
    if (lang) {
      const tags = rest.split(/\s+/);
      const mode = tags.includes('excerpt') ? 'excerpt' : tags.includes('run') ? 'run' : 'check';
      const code = lines
        .slice(i + 1, end)
        .map((l) => l.slice(indent.length))
        .join('\n');
      blocks.push({ source: `${relative(root, file)}:${i + 1}`, lang, mode, code });
    }
    i = end;
  }
  return blocks;
}

const files = [
  join(root, 'README.md'),
  join(root, 'bench', 'README.md'),
  ...readmes(join(root, 'src')),
];
const blocks = files.flatMap(codeBlocks);

/** The file a block is written to: one module per block, so blocks never share a scope. */
const fileOf = (b: Block, i: number) =>
  join(workDir, `${b.source.replace(/[/:.]/g, '_')}_${i}.${b.lang === 'ts' ? 'ts' : 'mjs'}`);

after(() => rmSync(workDir, { recursive: true, force: true }));

test('the docs have code blocks, and every one is checked or marked as an excerpt', () => {
  assert.ok(
    blocks.length >= 20,
    `found only ${blocks.length} ts/js blocks in ${files.length} READMEs`,
  );
  assert.ok(
    blocks.some((b) => b.mode === 'run'),
    'no block is marked `run`',
  );
});

test('every ts/js block of the docs typechecks against the built package', () => {
  assert.ok(
    existsSync(join(root, 'dist', 'src', 'index.d.ts')),
    'dist/ is missing: run `npm run build` first (the docs are checked against the built types)',
  );
  const checked = blocks
    .map((b, i) => ({ block: b, file: fileOf(b, i) }))
    .filter(({ block }) => block.mode !== 'excerpt');
  // `export {}` makes every block a module, so its top-level await and names are its own.
  for (const { block, file } of checked) writeFileSync(file, `${block.code}\nexport {};\n`);
  const program = ts.createProgram(
    checked.map((c) => c.file),
    {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      strict: true,
      allowJs: true,
      checkJs: true,
      noEmit: true,
      skipLibCheck: true,
    },
  );
  const sourceOf = new Map(checked.map((c) => [c.file, c.block.source]));
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const [md, at] = (sourceOf.get(d.file.fileName) ?? d.file.fileName).split(':');
    // The line in the README: the block starts one line after its fence.
    return `${md}:${Number(at) + 1 + line}: ${text}`;
  });
  assert.deepEqual(errors, []);
});

test('blocks marked `run` run to completion', () => {
  for (const [i, b] of blocks.entries()) {
    if (b.mode !== 'run') continue;
    const file = fileOf(b, i);
    writeFileSync(file, `${b.code}\nexport {};\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `${b.source} exited ${r.status}:\n${r.stderr}`);
  }
});
