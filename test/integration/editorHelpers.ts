// Helpers for the editor-feature suites in the extension host: the extension's internal test handles, documents
// opened at a cursor, polling, and candidate code contexts for the real (possibly weak) bundled model.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { DllmExtensionApi } from '../../src/extension';
import { activateExtension } from '../support/extensionHost';

export { EXTENSION_ID, waitFor } from '../support/extensionHost';
export const CURSOR = '<|>';

export async function extensionApi(): Promise<{ api: DllmExtensionApi; extensionPath: string }> {
  const { api, extensionPath } = await activateExtension();
  return { api, extensionPath };
}

/** Opens an untitled document with `content` (one <|> marks the cursor) and puts the cursor there. */
export async function openAtCursor(content: string, language: string) {
  const at = content.indexOf(CURSOR);
  assert.ok(at >= 0, 'content needs a <|> cursor');
  const doc = await vscode.workspace.openTextDocument({ language, content: content.replace(CURSOR, '') });
  const editor = await vscode.window.showTextDocument(doc);
  const position = doc.positionAt(at);
  editor.selection = new vscode.Selection(position, position);
  return { doc, editor, position };
}

/** Closes every editor, reverting untitled/dirty ones first (no save prompts). */
export async function closeAllEditors(): Promise<void> {
  for (let i = 0; i < 30 && vscode.window.visibleTextEditors.length > 0; i++) {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

export const invokeContext: vscode.InlineCompletionContext = {
  triggerKind: vscode.InlineCompletionTriggerKind.Invoke,
  selectedCompletionInfo: undefined,
};

export interface Candidate {
  name: string;
  language: string;
  /** Document text with a <|> cursor. */
  content: string;
}

/**
 * Code contexts to try, in order: a few hand-written ones, then held-out TS/JS infill tasks. The bundled model may be
 * an early checkpoint that answers nothing in many places; tests look for the first context where it answers.
 */
export function inlineCandidates(extensionPath: string, max = 40): Candidate[] {
  const own: Candidate[] = [
    { name: 'js loop body', language: 'javascript', content: 'function sum(items) {\n  let total = 0;\n  for (const x of items) {\n    <|>\n  }\n  return total;\n}\n' },
    { name: 'python while body', language: 'python', content: 'def fibonacci(n):\n    numbers = [0, 1]\n    while len(numbers) < n:\n        <|>\n    return numbers[:n]\n' },
    { name: 'ts return', language: 'typescript', content: 'export function clamp(value: number, low: number, high: number): number {\n  return <|>\n}\n' },
  ];
  const file = path.join(extensionPath, 'models', 'eval', 'tsjs-infill.jsonl');
  const tasks = fs.existsSync(file)
    ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { task_id: string; prefix: string; suffix: string; language?: string })
    : [];
  for (const t of tasks) {
    if (own.length >= max) break;
    own.push({ name: t.task_id, language: t.language === 'typescript' ? 'typescript' : 'javascript', content: `${t.prefix}${CURSOR}${t.suffix}` });
  }
  return own;
}

/** Placeholder contexts for Fill Block (the convention in src/completion/placeholder.ts). */
export function fillCandidates(): Candidate[] {
  return [
    { name: 'python pass', language: 'python', content: 'def average(values):\n    """Return the mean of values."""\n    pa<|>ss\n\n\nprint(average([1, 2, 3]))\n' },
    { name: 'js // fill', language: 'javascript', content: 'function clamp(value, min, max) {\n  // fi<|>ll\n}\n\nmodule.exports = { clamp };\n' },
    { name: 'ts empty braces', language: 'typescript', content: 'export function isEven(n: number): boolean {<|>}\n' },
    { name: 'js TODO', language: 'javascript', content: 'function sum(items) {\n  let total = 0;\n  TO<|>DO\n  return total;\n}\n' },
    { name: 'python ...', language: 'python', content: 'def is_prime(n: int) -> bool:\n    .<|>..\n\n\nprint(is_prime(7))\n' },
    { name: 'js blank body', language: 'javascript', content: 'function chunk(items, size) {\n<|>\n}\n' },
  ];
}
