// Builds and wires the editor features: inline provider with progressive ghost text, fill block (+ code lens),
// stats panel, status bar and commands. Nothing here starts the engine; the first request does.
import * as vscode from 'vscode';
import { COMMANDS, FILL_ACTIVE_CONTEXT } from '../commandIds';
import { CONFIG_SECTION, type Settings } from '../config';
import { currentSettings } from '../settings';
import { EngineSession } from './engineSession';
import { FillAllController } from './fillAll';
import { FillBlockController } from './fillBlock';
import { DllmInlineProvider, docKeyOf } from './inlineProvider';
import { ErrorNotifier, type Logger } from './logger';
import { PlaceholderLensProvider } from './placeholderLens';
import { GhostTextRefresher } from './progressiveGhost';
import { SessionStats } from '../completion/sessionStats';
import { STATUS_MENU_COMMAND, StatusBar } from './statusBar';
import { showStatusMenu } from './statusMenu';
import { StatsPanel } from './statsPanel';

/** Escape while an inline decode runs and its ghost text shows: stop the decode and hide the ghost text. */
export const DISMISS_INLINE_COMMAND = 'dllm.dismissInline';
const PROPOSAL = 'inlineCompletionsAdditions';
const STATUS_THROTTLE_MS = 150;

/** Internal, for the extension-host tests; not a public API. */
export interface DllmTestingApi {
  engine: EngineSession;
  provider: DllmInlineProvider;
  fill: FillBlockController;
  fillAll: FillAllController;
  stats: StatsPanel;
  refresher: GhostTextRefresher;
  settings(): Settings;
}

export function activateEditorFeatures(context: vscode.ExtensionContext, log: Logger): DllmTestingApi {
  let settings = currentSettings(log);
  const getSettings = () => settings;
  const errors = new ErrorNotifier(log);
  const engine = new EngineSession(context.extensionPath, getSettings, log, errors, new SessionStats());
  const proposedApi = Boolean(context.extension.packageJSON?.enabledApiProposals?.includes?.(PROPOSAL));
  const refresher = new GhostTextRefresher(log, proposedApi);
  const fill = new FillBlockController(engine, log);
  const fillAll = new FillAllController(engine, log);
  const provider = new DllmInlineProvider(engine, getSettings, log, refresher,
    (docKey) => fill.isActiveIn(docKey) || fillAll.isActiveIn(docKey));
  const lenses = new PlaceholderLensProvider(getSettings, (docKey) => fill.activeLine(docKey));
  const stats = new StatsPanel(context.extensionUri, engine, log);
  const statusBar = new StatusBar(() => ({
    settings,
    languageId: vscode.window.activeTextEditor?.document.languageId,
    engineStarted: engine.started,
    status: engine.status,
    activity: engine.activity,
    last: engine.stats.last,
    inlineSuggestEnabled: vscode.workspace.getConfiguration('editor').get<boolean>('inlineSuggest.enabled', true),
  }));
  const updateStatus = () => statusBar.update();
  // Step events arrive many times a second: redraw the status bar at most every STATUS_THROTTLE_MS for them.
  let statusTimer: ReturnType<typeof setTimeout> | undefined;
  const updateStatusSoon = () => {
    statusTimer ??= setTimeout(() => {
      statusTimer = undefined;
      updateStatus();
    }, STATUS_THROTTLE_MS);
  };

  context.subscriptions.push(
    engine, refresher, fill, fillAll, provider, lenses, stats, statusBar,
    vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, provider),
    vscode.languages.registerCodeLensProvider({ pattern: '**' }, lenses),
    engine.onDidChangeStatus(updateStatus),
    engine.onDidChangeActivity((a) => (a.running === 0 ? updateStatus() : updateStatusSoon())),
    { dispose: () => clearTimeout(statusTimer) },
    engine.stats.onDidChange(updateStatus),
    fill.onDidChangeActive(() => lenses.refresh()),
    vscode.window.onDidChangeActiveTextEditor(updateStatus),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('editor.inlineSuggest.enabled')) updateStatus();
      if (!e.affectsConfiguration(CONFIG_SECTION)) return;
      settings = currentSettings(log);
      provider.reset();
      engine.onSettingsChanged();
      lenses.refresh();
      updateStatus();
    }),

    vscode.commands.registerCommand(COMMANDS.fillBlock, (args?: unknown) => fill.run(args)),
    vscode.commands.registerCommand(COMMANDS.fillAll, () => fillAll.run()),
    vscode.commands.registerCommand(COMMANDS.cancelFill, () => { fill.cancel(); fillAll.cancel(); }),
    vscode.commands.registerCommand(COMMANDS.showStats, () => stats.show()),
    vscode.commands.registerCommand(COMMANDS.toggle, async () => {
      const next = !settings.enable;
      await vscode.workspace.getConfiguration(CONFIG_SECTION).update('enable', next, vscode.ConfigurationTarget.Global);
      settings = currentSettings(log);
      updateStatus();
      log.info(`inline completions ${next ? 'enabled' : 'disabled'}`);
      vscode.window.setStatusBarMessage(`dLLM: inline completions ${next ? 'on' : 'off'}`, 3000);
      return next;
    }),
    vscode.commands.registerCommand(COMMANDS.triggerCompletion, async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        void vscode.window.showInformationMessage('dLLM: open a file and put the cursor where the completion should go.');
        return;
      }
      provider.armManualTrigger(editor);
      // Hide first: a plain trigger may be answered from VS Code's cache of the last suggestion.
      await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
      await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    }),
    vscode.commands.registerCommand(STATUS_MENU_COMMAND, () => showStatusMenu(settings, engine, log)),
    vscode.commands.registerCommand(DISMISS_INLINE_COMMAND, async () => {
      const editor = vscode.window.activeTextEditor;
      if (editor) provider.cancelLive(docKeyOf(editor.document), 'Escape');
      await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
    }),
  );
  void vscode.commands.executeCommand('setContext', FILL_ACTIVE_CONTEXT, false);
  return { engine, provider, fill, fillAll, stats, refresher, settings: getSettings };
}
