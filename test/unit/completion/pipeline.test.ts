// The shared completion pipeline with hand-built engine results: confidence aggregate, gate, request shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CompletionEngine, type PipelineSettings, answerConfidence, applyGate, completionRequest, finishCompletion,
  firstLineProbabilities, geometricMean, prepareCompletion, runCompletion,
} from '../../../src/completion/pipeline';
import { DEFAULT_SETTINGS } from '../../../src/config';
import type { CompletionRequest, CompletionResult } from '../../../src/engine/protocol';
import { result } from './traces';

const settings = (over: Partial<PipelineSettings> = {}): PipelineSettings => ({ ...DEFAULT_SETTINGS, ...over });

/** A result whose tokens are `pieces` with the given committed probabilities, then end tokens. */
function tokens(pieces: [string, number][], pads = 2): CompletionResult {
  const r = result('t', pieces.map(([text]) => text).join(''));
  r.trace = [
    ...pieces.map(([text, confidence], index) => ({ index, text, step: index + 1, rule: 'threshold' as const, confidence })),
    ...Array.from({ length: pads }, (_, k) => ({ index: pieces.length + k, text: '', step: 1, rule: 'confidence-cluster' as const, confidence: 0.99 })),
  ].reverse(); // commit order is not canvas order
  return r;
}

test('geometricMean: exp of the mean log probability; 0 for no tokens', () => {
  assert.equal(geometricMean([]), 0);
  assert.ok(Math.abs(geometricMean([0.25, 1]) - 0.5) < 1e-12);
  assert.ok(Math.abs(geometricMean([0.8, 0.8, 0.8]) - 0.8) < 1e-12);
  assert.ok(geometricMean([0.9, 0.9, 0.01]) < 0.21); // one doubtful token pulls it down
});

test('firstLineProbabilities: the tokens of the first non-blank line, in canvas order, not the end tokens', () => {
  const r = tokens([['return', 0.9], [' a', 0.5], ['\n', 0.7], ['  b', 0.1]]);
  assert.deepEqual(firstLineProbabilities(r, 'return a\n  b'), [0.9, 0.5]);
  assert.deepEqual(firstLineProbabilities(r, 'return'), [0.9]); // a post-filter cut the answer
  assert.deepEqual(firstLineProbabilities(r, ''), []);
  const startsWithNewline = tokens([['\n', 0.6], ['    x', 0.3], ['\n', 0.9], ['y', 0.9]]);
  assert.deepEqual(firstLineProbabilities(startsWithNewline, '\n    x\ny'), [0.6, 0.3]);
  const ends = tokens([['ab', 0.5]], 3);
  assert.deepEqual(firstLineProbabilities(ends, 'ab'), [0.5]);
});

test('applyGate: below the gate an automatic answer is held back with a reason; an explicit one is shown', () => {
  assert.deepEqual(applyGate('x', 0.6, 0.5, false), { shown: true });
  assert.deepEqual(applyGate('x', 0.5, 0.5, false), { shown: true });
  const held = applyGate('x', 0.42, 0.5, false);
  assert.equal(held.shown, false);
  assert.match(held.heldBackReason!, /confidence 0\.42 is below dllm\.minConfidence 0\.5/);
  assert.deepEqual(applyGate('x', 0.1, 0.5, true), { shown: true });
  assert.deepEqual(applyGate('', 1, 0, true), { shown: false }); // nothing to show is not "held back"
});

test('finishCompletion: post-filters, then the gate on the filtered first line', () => {
  const prepared = prepareCompletion({ prefix: 'const total = ', suffix: ';\n', languageId: 'typescript' }, settings());
  assert.equal(prepared.shape, 'singleLine');
  const r = tokens([[' a + b', 0.3], ['\n', 0.9], ['more', 0.9]]); // the prefix's space comes back (prefix healing)
  const automatic = finishCompletion(r, prepared, settings({ minConfidence: 0.5 }), false);
  assert.equal(automatic.text, 'a + b'); // single line
  assert.equal(automatic.confidence, 0.3);
  assert.equal(automatic.shown, false);
  assert.ok(automatic.heldBackReason);
  const explicit = finishCompletion(r, prepared, settings({ minConfidence: 0.5 }), true);
  assert.deepEqual({ ...explicit, heldBackReason: undefined }, { ...automatic, shown: true, heldBackReason: undefined });
  assert.equal(finishCompletion(r, prepared, settings({ minConfidence: 0 }), false).shown, true);
});

test('runCompletion: the request carries the fitted context, the shape and the decoding settings', async () => {
  const requests: CompletionRequest[] = [];
  const engine: CompletionEngine = {
    async complete(request) {
      requests.push(request);
      return tokens([[' b;', 0.8]]);
    },
  };
  const longPrefix = `${'// filler line\n'.repeat(400)}function f(a, b) {\n  return a + `;
  const out = await runCompletion(engine, { prefix: longPrefix, suffix: '\n}\n', languageId: 'javascript' },
    settings({ policy: 'fast-dllm', threshold: 0.7, minConfidence: 0.5 }), { id: 'q1' });
  const request = requests[0];
  assert.equal(request.id, 'q1');
  assert.equal(request.policy, 'fast-dllm');
  assert.equal(request.thresholds?.tau, 0.7);
  assert.equal(request.singleLine, false); // end of line: multi-line
  assert.equal(request.options?.stopWhenAnswerFinal, true);
  assert.equal(request.languageId, 'javascript');
  assert.ok(request.prefix.length < longPrefix.length && request.prefix.endsWith('  return a +'), 'the trailing space goes to the model');
  assert.equal(request.prefixIsFileStart, false);
  assert.deepEqual({ shown: out.shown, text: out.text, confidence: out.confidence, nfe: out.nfe },
    { shown: true, text: 'b;', confidence: 0.8, nfe: 5 });
  assert.deepEqual(completionRequest('q1', out.prepared, settings({ policy: 'fast-dllm', threshold: 0.7 }), { emitSteps: false }), request);
});

test('runCompletion: a blank context asks the engine nothing', async () => {
  const engine: CompletionEngine = { complete: () => assert.fail('no request expected') };
  const out = await runCompletion(engine, { prefix: '  \n', suffix: '\n' }, settings(), { id: 'blank' });
  assert.deepEqual({ shown: out.shown, text: out.text, nfe: out.nfe }, { shown: false, text: '', nfe: 0 });
});

test('answerConfidence of an empty answer is 0', () => {
  assert.equal(answerConfidence(tokens([]), ''), 0);
});

test('answerConfidence counts the model\'s first-pass belief that the answer is empty', () => {
  const answer = tokens([['x', 0.8], [' = 1', 0.8]]);
  assert.ok(Math.abs(answerConfidence(answer, 'x = 1') - 0.8) < 1e-12);
  answer.metrics = { ...answer.metrics, endAtStartProbability: 0.75 }; // it expected nothing here: the guard made it answer
  assert.ok(Math.abs(answerConfidence(answer, 'x = 1') - 0.2) < 1e-12);
});

test('prefix healing: a cursor after a space asks without it and shows the answer after it', async () => {
  const requests: CompletionRequest[] = [];
  let answer: CompletionResult = tokens([[' 5', 0.9], ['}', 0.9]]);
  const engine: CompletionEngine = { async complete(request) { requests.push(request); return answer; } };
  const cursor = { prefix: 'const limits = { expected: ', suffix: '\n', languageId: 'typescript' };
  const healed = await runCompletion(engine, cursor, settings({ minConfidence: 0 }), { id: 'h1' });
  assert.equal(requests[0].prefix, 'const limits = { expected:');
  assert.equal(healed.prepared.healed, ' ');
  assert.deepEqual({ shown: healed.shown, text: healed.text, confidence: healed.confidence }, { shown: true, text: '5}', confidence: 0.9 });
  // an answer that breaks the line after the space the user typed is no answer at the cursor
  answer = tokens([['\n', 0.9], ['}', 0.9]]);
  const mismatch = await runCompletion(engine, cursor, settings({ minConfidence: 0 }), { id: 'h2' });
  assert.deepEqual({ shown: mismatch.shown, text: mismatch.text, confidence: mismatch.confidence }, { shown: false, text: '', confidence: 0 });
  // an indented empty line: one space of the indentation goes back, the answer keeps the rest of its line
  answer = tokens([[' return', 0.8], [' n', 0.8]]);
  const indented = await runCompletion(engine, { prefix: 'def f(n):\n    ', suffix: '\n' }, settings({ minConfidence: 0 }), { id: 'h3' });
  assert.equal(requests[2].prefix, 'def f(n):\n   ');
  assert.equal(indented.text, 'return n');
  // nothing to heal: no trailing space, or only whitespace before it
  answer = tokens([['x', 0.8]]);
  await runCompletion(engine, { prefix: 'f(', suffix: ')\n' }, settings(), { id: 'h4' });
  assert.equal(requests[3].prefix, 'f(');
  await runCompletion(engine, { prefix: '  ', suffix: 'x = 1\n' }, settings(), { id: 'h5' });
  assert.equal(requests[4].prefix, '  ');
});
