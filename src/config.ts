// The one typed home of every `dllm.*` setting and its default.
// package.json's contributes.configuration must declare the same defaults; a unit test enforces it.
// No `vscode` import here: callers pass a getter (e.g. vscode.workspace.getConfiguration('dllm').get).

import { EXECUTION_PROVIDERS, POLICY_NAMES, type ExecutionProviderName, type PolicyName } from './engine/protocol';

export const CONFIG_SECTION = 'dllm';

export const COMPLETION_MODES = ['auto', 'singleLine', 'multiLine'] as const;
export type CompletionMode = (typeof COMPLETION_MODES)[number];

export interface Settings {
  enable: boolean;
  /** Language ids to complete in; ["*"] means every language. */
  languages: string[];
  policy: PolicyName;
  /** Fast-dLLM confidence threshold τ. */
  threshold: number;
  /** R² confidence-cluster mean threshold τs. */
  clusterThreshold: number;
  /** R² temporal finalization: stable steps K. */
  temporalSteps: number;
  /** R² temporal finalization: confidence threshold τt. */
  temporalThreshold: number;
  /** Folder holding model.onnx, tokenizer.json and config.json; empty = the bundled default model. */
  modelPath: string;
  /** Model folders offered by `dLLM: Select Model` next to the bundled model (machine-scoped). */
  models: string[];
  executionProvider: ExecutionProviderName;
  maxNewTokens: number;
  debounceMs: number;
  completionMode: CompletionMode;
  progressiveGhostText: boolean;
  /**
   * Automatic inline suggestions whose confidence (geometric mean of the committed probabilities of the first line's
   * answer tokens) is below this are held back; `dLLM: Trigger Completion` shows them anyway. 0 = no gate.
   */
  minConfidence: number;
  /** Show a "Fill Block" code lens above placeholder lines. */
  placeholderCodeLens: boolean;
}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  enable: true,
  languages: ['*'],
  policy: 'r2',
  threshold: 0.9,
  clusterThreshold: 0.8,
  temporalSteps: 3,
  temporalThreshold: 0.8,
  modelPath: '',
  models: [],
  executionProvider: 'auto',
  maxNewTokens: 48,
  debounceMs: 150,
  completionMode: 'auto',
  progressiveGhostText: true,
  minConfidence: 0.5,
  placeholderCodeLens: true,
} satisfies Settings);

export type SettingKey = keyof Settings;
export const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS) as SettingKey[];

/** Reads one raw value; returns undefined when the user has not set it. */
export type SettingGetter = (key: string) => unknown;

const isProbability = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
const isIntInRange = (min: number, max: number) => (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isOneOf = <T extends string>(values: readonly T[]) => (v: unknown): v is T =>
  typeof v === 'string' && (values as readonly string[]).includes(v);

/** Accepts a value only if it is valid for that key; otherwise the default is used. */
const VALIDATORS: { [K in SettingKey]: (v: unknown) => v is Settings[K] } = {
  enable: (v): v is boolean => typeof v === 'boolean',
  languages: (v): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0),
  policy: isOneOf(POLICY_NAMES),
  threshold: isProbability,
  clusterThreshold: isProbability,
  temporalSteps: isIntInRange(1, 64),
  temporalThreshold: isProbability,
  modelPath: (v): v is string => typeof v === 'string',
  models: (v): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  executionProvider: isOneOf(EXECUTION_PROVIDERS),
  maxNewTokens: isIntInRange(1, 1024),
  debounceMs: isIntInRange(0, 10_000),
  completionMode: isOneOf(COMPLETION_MODES),
  progressiveGhostText: (v): v is boolean => typeof v === 'boolean',
  minConfidence: isProbability,
  placeholderCodeLens: (v): v is boolean => typeof v === 'boolean',
};

export interface ReadResult {
  settings: Settings;
  /** Keys whose configured value was invalid and replaced by the default. */
  invalid: SettingKey[];
}

/** Builds a complete, valid Settings object from whatever the getter returns. */
export function readSettingsDetailed(get: SettingGetter): ReadResult {
  const settings = { ...DEFAULT_SETTINGS, languages: [...DEFAULT_SETTINGS.languages], models: [...DEFAULT_SETTINGS.models] } as Settings;
  const invalid: SettingKey[] = [];
  for (const key of SETTING_KEYS) {
    const value = get(key);
    if (value === undefined || value === null) continue;
    if (VALIDATORS[key](value)) {
      (settings as unknown as Record<string, unknown>)[key] = Array.isArray(value) ? [...value] : value;
    } else {
      invalid.push(key);
    }
  }
  return { settings, invalid };
}

export function readSettings(get: SettingGetter): Settings {
  return readSettingsDetailed(get).settings;
}

/**
 * True when completions should run for this language under the given settings.
 * `languages` lists ids to complete in (`*` = all); an entry `!id` turns one language off (it wins over `*`).
 */
export function isLanguageEnabled(settings: Pick<Settings, 'enable' | 'languages'>, languageId: string): boolean {
  if (!settings.enable || settings.languages.includes(`!${languageId}`)) return false;
  return settings.languages.includes('*') || settings.languages.includes(languageId);
}

/** The `languages` list with one language switched on or off (for the status bar menu). */
export function withLanguage(languages: readonly string[], languageId: string, enabled: boolean): string[] {
  const rest = languages.filter((l) => l !== languageId && l !== `!${languageId}`);
  if (enabled) return rest.includes('*') ? rest : [...rest, languageId];
  return rest.includes('*') ? [...rest, `!${languageId}`] : rest;
}
