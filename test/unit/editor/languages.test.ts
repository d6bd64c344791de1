import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLanguageEnabled, withLanguage } from '../../../src/config';

test('"!id" turns one language off, even under "*"', () => {
  assert.equal(isLanguageEnabled({ enable: true, languages: ['*', '!markdown'] }, 'markdown'), false);
  assert.equal(isLanguageEnabled({ enable: true, languages: ['*', '!markdown'] }, 'python'), true);
  assert.equal(isLanguageEnabled({ enable: true, languages: ['python', '!python'] }, 'python'), false);
});

test('withLanguage switches one language in an allow-list or under "*"', () => {
  assert.deepEqual(withLanguage(['*'], 'python', false), ['*', '!python']);
  assert.deepEqual(withLanguage(['*', '!python'], 'python', true), ['*']);
  assert.deepEqual(withLanguage(['typescript'], 'python', true), ['typescript', 'python']);
  assert.deepEqual(withLanguage(['typescript', 'python'], 'python', false), ['typescript']);
  for (const start of [['*'], ['go'], ['*', '!go']]) {
    for (const on of [true, false]) {
      assert.equal(isLanguageEnabled({ enable: true, languages: withLanguage(start, 'go', on) }, 'go'), on, `${start} → ${on}`);
    }
  }
});
