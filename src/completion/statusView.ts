// What the "dLLM" status bar item shows for a given state (pure, so it is unit-tested without VS Code).
import { type Settings, isLanguageEnabled } from '../config';
import type { EngineStatus } from '../engine/protocol';
import { formatCount } from './modelChoices';
import type { RequestSummary } from './sessionStats';

/** Requests in flight (engineSession.ts fills it). */
export interface Activity {
  running: number;
  /** The latest step event of the newest request. */
  step?: number;
  kind?: 'inline' | 'fill';
}

export interface StatusInputs {
  settings: Settings;
  /** Language of the active editor, if any. */
  languageId: string | undefined;
  engineStarted: boolean;
  status: EngineStatus;
  activity: Activity;
  last: RequestSummary | undefined;
  /** VS Code's own switch for ghost text (editor.inlineSuggest.enabled). */
  inlineSuggestEnabled: boolean;
  /** Name of the configured model before it is loaded (dllm.modelPath's config.json); default "bundled model". */
  configuredModel?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  error: boolean;
  warning: boolean;
}

/** Pure: what the item shows for a given state. */
export function statusView(i: StatusInputs): StatusView {
  const { settings, status, activity, last } = i;
  const enabledHere = i.languageId === undefined ? settings.enable : isLanguageEnabled(settings, i.languageId);
  const lines: string[] = [];
  const facts = [status.modelFamily, status.modelParams ? formatCount(status.modelParams) : undefined, status.modelPrecision]
    .filter(Boolean).join(', ');
  const model = status.modelName ? `**${status.modelName}**${facts ? ` (${facts})` : ''}` : i.configuredModel ?? 'bundled model';
  if (!i.engineStarted) lines.push(`Model: ${model}, loads on first use`);
  else if (status.state === 'loading') lines.push(`Model: loading ${model}…`);
  else lines.push(`Model: ${model} (${status.state})`);
  if (status.executionProvider) {
    const asked = status.requestedExecutionProvider && status.requestedExecutionProvider !== status.executionProvider
      ? ` (asked for ${status.requestedExecutionProvider})` : '';
    lines.push(`Execution provider: ${status.executionProvider}${asked}`);
  }
  if (status.fallbackReason) lines.push(`⚠ ${status.fallbackReason}`);
  lines.push(`Policy: ${settings.policy}`);
  if (last) {
    lines.push(`Last ${last.kind === 'fill' ? 'fill' : 'completion'}: ${Math.round(last.ms)} ms, ${last.tokens} tokens in ${last.steps} steps, ` +
      `${last.savedVsLladaPct}% fewer steps than llada` +
      (last.savedVsFastDllmPct !== undefined ? `, ${last.savedVsFastDllmPct}% fewer than fast-dllm` : ''));
  }
  if (!settings.enable) lines.push('Inline completions are **off**.');
  else if (!enabledHere) lines.push(`Inline completions are **off for ${i.languageId}**.`);
  if (!i.inlineSuggestEnabled) lines.push('⚠ `editor.inlineSuggest.enabled` is off: VS Code shows no ghost text.');
  const error = status.state === 'error';
  if (error && status.error) lines.push(`$(error) ${status.error}`);
  lines.push('', 'Click for the dLLM menu.');

  let text: string;
  if (error) text = '$(error) dLLM';
  else if (activity.running > 0) {
    text = activity.step !== undefined ? `$(loading~spin) dLLM step ${activity.step}` : '$(loading~spin) dLLM';
  } else if (status.state === 'loading') text = '$(loading~spin) dLLM loading';
  else if (!enabledHere) text = '$(circle-slash) dLLM';
  else text = last ? `$(sparkle) dLLM ${Math.round(last.ms)} ms · −${Math.round(last.savedVsLladaPct)}%` : '$(sparkle) dLLM';
  return { text, tooltip: lines.join('\n\n'), error, warning: !error && (!i.inlineSuggestEnabled || Boolean(status.fallbackReason)) };
}
