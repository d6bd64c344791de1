// Counts of a node:test run, read from its TAP report (written beside the spec output with a second reporter).
// Skips carry their reason; a test declared with `knownFailure(reason)` (test/support/knownFailure.ts) is a TODO whose
// reason starts with "known failure": failing, it is a known failure (not a pass, not a failure of the run); passing,
// it is a pass that asks to become a plain test.
import fs from 'node:fs';

/** Arguments that make node's test runner write TAP to `tapFile` and the spec report to stdout. */
export function tapReporterArgs(tapFile) {
  return ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tapFile}`];
}

export function countTap(tapFile) {
  const text = fs.existsSync(tapFile) ? fs.readFileSync(tapFile, 'utf8') : '';
  const footer = (label) => Number(text.match(new RegExp(`^# ${label} (\\d+)$`, 'm'))?.[1] ?? 0);
  const skipped = [];
  const knownFailures = [];
  for (const m of text.matchAll(/^\s*(not ok|ok) \d+ - (.*?) # (SKIP|TODO)\s*(.*)$/gm)) {
    const [, status, test, kind, reason] = m;
    if (kind === 'SKIP') skipped.push({ test, reason: reason || 'no reason given' });
    else knownFailures.push({ test, reason, outcome: status === 'ok' ? 'now passes' : 'fails' });
  }
  const nowPassing = knownFailures.filter((k) => k.outcome === 'now passes').length;
  return {
    found: text.length > 0,
    // node counts a passing TODO under "todo", not "pass": a known failure that passes is a pass.
    passed: footer('pass') + nowPassing,
    failed: footer('fail') + footer('cancelled'),
    skipped,
    knownFailures,
  };
}
