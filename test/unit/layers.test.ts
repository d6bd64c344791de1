// The layering engine → completion → editor, read from the source: src/engine and src/completion (and src/bench, src/cli.ts,
// which run outside VS Code) never reach `vscode`, directly or through a relative import, and never import src/editor.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../support/repoRoot';

const SRC = path.join(REPO_ROOT, 'src');

function tsFilesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath ?? (e as any).path, e.name));
}

/** Module specifiers of every import / export-from / require / dynamic import in a source file. */
export function importSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) specifiers.push(m[1]);
  return specifiers;
}

function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Every file reachable from `start` through relative imports, each with the chain that reaches it. */
function reachable(start: string): Map<string, string[]> {
  const chains = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length) {
    const file = queue.shift()!;
    for (const spec of importSpecifiers(fs.readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolveRelative(file, spec);
      if (!target || chains.has(target)) continue;
      chains.set(target, [...chains.get(file)!, target]);
      queue.push(target);
    }
  }
  return chains;
}

const rel = (f: string) => path.relative(REPO_ROOT, f);
const outsideVsCode = [
  ...tsFilesUnder(path.join(SRC, 'engine')),
  ...tsFilesUnder(path.join(SRC, 'completion')),
  ...tsFilesUnder(path.join(SRC, 'bench')),
  path.join(SRC, 'cli.ts'),
];

test('importSpecifiers finds static, side-effect, type-only and dynamic imports', () => {
  const source = [
    "import * as vscode from 'vscode';",
    "import type { A } from './a';",
    "import './side';",
    "export { b } from '../b';",
    "const c = require('c');",
    "const d = await import('./d');",
    "import {\n  e,\n  f,\n} from './ef';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(source).sort(), ['../b', './a', './d', './ef', './side', 'c', 'vscode'].sort());
});

test('src/engine and src/completion hold files (the layers exist)', () => {
  assert.ok(tsFilesUnder(path.join(SRC, 'engine')).length > 0);
  assert.ok(tsFilesUnder(path.join(SRC, 'completion')).length > 0);
});

test('src/engine, src/completion, src/bench and src/cli.ts never reach vscode, even through another file', () => {
  const offenders: string[] = [];
  for (const file of outsideVsCode) {
    for (const [reached, chain] of reachable(file)) {
      if (importSpecifiers(fs.readFileSync(reached, 'utf8')).includes('vscode')) {
        offenders.push(chain.map(rel).join(' → ') + ' → vscode');
      }
    }
  }
  assert.deepEqual([...new Set(offenders)], []);
});

test('the layers point one way: engine imports neither completion nor editor; completion and bench never import editor', () => {
  const layerOf = (f: string) => rel(f).split(path.sep)[1];
  const forbidden: Record<string, string[]> = {
    engine: ['completion', 'editor', 'bench'],
    completion: ['editor', 'bench'],
    bench: ['editor'],
  };
  const offenders: string[] = [];
  for (const file of outsideVsCode) {
    const from = layerOf(file);
    for (const spec of importSpecifiers(fs.readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolveRelative(file, spec);
      if (target && forbidden[from]?.includes(layerOf(target))) offenders.push(`${rel(file)} imports ${rel(target)}`);
    }
  }
  assert.deepEqual(offenders, []);
});
