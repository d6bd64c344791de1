// Loads golden fixtures from test/unit/completion/fixtures (read from the source tree: they are not compiled to out/).
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../support/repoRoot';

export const CURSOR = '<|>';

export function loadFixtures<T>(name: string): T[] {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'unit', 'completion', 'fixtures', name), 'utf8'));
}

/** Splits a document written with a <|> cursor marker into prefix and suffix. */
export function splitAtCursor(document: string): { prefix: string; suffix: string } {
  const at = document.indexOf(CURSOR);
  if (at < 0 || document.indexOf(CURSOR, at + 1) >= 0) throw new Error(`fixture needs exactly one ${CURSOR}: ${JSON.stringify(document)}`);
  return { prefix: document.slice(0, at), suffix: document.slice(at + CURSOR.length) };
}
