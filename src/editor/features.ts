// Builds and wires the editor features: inline provider with progressive ghost text, fill block (+ code lens),
// stats panel, status bar and commands. Nothing here starts the engine; the first request does.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS, FILL_ACTIVE_CONTEXT } from '../commandIds';
import { CONFIG_SECTION, type Settings } from '../config';
import { currentSettings } from '../settings';
import { BUNDLED_MODEL_DIR, EngineSession, resolveModelDir } from './engineSession';
import { FillAllController } from './fillAll';
import { FillBlockController } from './fillBlock';
import { DllmInlineProvider, docKeyOf } from './inlineProvider';
import { ErrorNotifier, type Logger } from './logger';
import { describeModelFolder, formatBytes, formatCount, modelPickItems } from '../completion/modelChoices';
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
  const bundledDir = path.join(context.extensionPath, BUNDLED_MODEL_DIR);
  let configuredName: { dir: string; name: string } | undefined;
  function configuredModelName(): string {
    const dir = engine.modelDir;
    if (configuredName?.dir !== dir) configuredName = { dir, name: describeModelFolder(dir).name };
    return configuredName.name;
  }
  const statusBar = new StatusBar(() => ({
    settings,
    languageId: vscode.window.activeTextEditor?.document.languageId,
    engineStarted: engine.started,
    status: engine.status,
    activity: engine.activity,
    last: engine.stats.last,
    inlineSuggestEnabled: vscode.workspace.getConfiguration('editor').get<boolean>('inlineSuggest.enabled', true),
    configuredModel: settings.modelPath ? configuredModelName() : undefined,
  }));
  const updateStatus = () => statusBar.update();

  /** dLLM: Select Model — the bundled model and dllm.models; an optional folder argument skips the quick pick. */
  async function selectModel(dirArg?: unknown): Promise<boolean | undefined> {
    const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
    const folder = (d: string) => resolveModelDir({ ...settings, modelPath: d }, context.extensionPath);
    let dir = typeof dirArg === 'string' ? folder(dirArg) : undefined;
    if (dir === undefined) {
      const choices = [describeModelFolder(bundledDir, true), ...settings.models.map((d) => describeModelFolder(folder(d)))];
      const loaded = engine.started && engine.status.modelName ? { dir: engine.modelDir, executionProvider: engine.status.executionProvider } : undefined;
      const items = modelPickItems(choices, engine.modelDir, settings.executionProvider, loaded);
      const add = { label: '$(folder-opened) Add a model folder…', description: 'dllm.models', detail: 'a folder converted with models/convert/from_hf.py', dir: '' };
      const pick = await vscode.window.showQuickPick([...items, add], { title: 'dLLM: Select Model', matchOnDescription: true, matchOnDetail: true });
      if (!pick) return undefined;
      dir = pick.dir;
      if (!dir) {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model' });
        if (!picked?.length) return undefined;
        dir = picked[0].fsPath;
        if (!settings.models.map(folder).includes(dir)) await config.update('models', [...settings.models, dir], vscode.ConfigurationTarget.Global);
      }
    }
    const choice = describeModelFolder(dir, dir === bundledDir);
    if (choice.problem) {
      void vscode.window.showErrorMessage(`dLLM: ${choice.name} cannot be used: ${choice.problem}`);
      return false;
    }
    const previous = settings.modelPath;
    const next = dir === bundledDir ? '' : dir;
    const applyModelPath = async (value: string) => {
      await config.update('modelPath', value, vscode.ConfigurationTarget.Global);
      settings = currentSettings(log);
      provider.reset();
      updateStatus();
    };
    if (previous !== next) await applyModelPath(next);
    const size = [choice.params ? `${formatCount(choice.params)} parameters` : '', formatBytes(choice.bytes)].filter(Boolean).join(', ');
    log.info(`model selected: ${choice.name} (${choice.family ?? 'unknown family'}, ${choice.precision ?? '?'}, ${size}) from ${dir}`);
    const ok = await engine.loadModel(`${choice.name} (${size})`);
    if (!ok && previous !== next) {
      await applyModelPath(previous);
      engine.onSettingsChanged();
      log.info(`model selection undone: back to ${previous || 'the bundled model'}`);
    }
    updateStatus();
    return ok;
  }
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
    vscode.commands.registerCommand(COMMANDS.selectModel, (dir?: unknown) => selectModel(dir)),
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
