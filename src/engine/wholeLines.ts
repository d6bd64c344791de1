// An answer placed between two line starts replaces whole lines, so it ends with a line break: without one, its last
// line would run into the first line of the suffix (HumanEval-infilling's convention, Fill Block over blank lines).

const startsLine = (prefix: string): boolean => prefix === '' || prefix.endsWith('\n');

/** The suffix's first line holds code (a blank first line cannot be joined wrongly). */
const suffixOpensWithCode = (suffix: string): boolean => {
  const nl = suffix.indexOf('\n');
  return (nl < 0 ? suffix : suffix.slice(0, nl)).trim() !== '';
};

/** Adds the missing final line break to a non-empty answer whose canvas starts at a line start, before a line of code. */
export function closeLastLine(answer: string, prefix: string, suffix: string): string {
  if (answer === '' || answer.endsWith('\n') || !startsLine(prefix) || !suffixOpensWithCode(suffix)) return answer;
  return answer + (prefix.endsWith('\r\n') ? '\r\n' : '\n');
}
