// vscode adapter for src/config.ts: reads the live `dllm.*` configuration into a typed Settings object.
import * as vscode from 'vscode';
import { CONFIG_SECTION, readSettingsDetailed, type Settings } from './config';

export function currentSettings(log?: vscode.LogOutputChannel): Settings {
  const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const { settings, invalid } = readSettingsDetailed((key) => config.get(key));
  if (invalid.length > 0) log?.warn(`Ignoring invalid dllm settings (defaults used): ${invalid.join(', ')}`);
  return settings;
}
