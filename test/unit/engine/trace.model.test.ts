// Decode trajectories (the SFT's training data): replaying the recorded commits rebuilds the decoded canvas.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Engine, type DecodeTrace } from '../../../src/engine/engine';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON, SAMPLE } from './modelFixture';

const engine = new Engine({ modelDir: MODEL_DIR, executionProvider: 'cpu' });
after(() => engine.dispose());

for (const policy of ['r2', 'fast-dllm'] as const) {
  test(`${policy} trace replays to the decoded canvas`, { skip: !HAVE_MODEL && NO_MODEL_REASON }, async () => {
    let trace: DecodeTrace | undefined;
    const result = await engine.complete(
      { id: `trace-${policy}`, prefix: SAMPLE.prefix, suffix: SAMPLE.suffix, policy, maxNewTokens: 16 },
      { onTrace: (t) => { trace = t; } },
    );
    assert.ok(trace, 'trace delivered');
    assert.equal(trace.canvasLength, 16);
    assert.equal(trace.steps.length, result.metrics.nfe, 'one trace step per forward pass');
    const canvas = new Array<number>(trace.canvasLength).fill(-1);
    for (const step of trace.steps) {
      assert.ok(step.predictions.length > 0);
      for (const [index, tokenId, confidence] of step.commits) {
        assert.equal(canvas[index], -1, `position ${index} committed twice`);
        const prediction = step.predictions.find(([i]) => i === index);
        assert.ok(prediction, `commit at ${index} has a prediction in the same step`);
        assert.ok(confidence > 0 && confidence <= 1);
        canvas[index] = tokenId;
      }
    }
    assert.ok(canvas.every((t) => t !== -1), 'every position committed');
    assert.deepEqual(canvas.slice(0, result.tokenIds.length), result.tokenIds);
    assert.ok(trace.prefixIds.length > 0 && trace.suffixIds.length > 0);
  });
}
