// Command ids contributed in package.json. Tests check the manifest and the registry against this list.
export const COMMANDS = {
  fillBlock: 'dllm.fillBlock',
  fillAll: 'dllm.fillAll',
  showStats: 'dllm.showStats',
  toggle: 'dllm.toggle',
  triggerCompletion: 'dllm.triggerCompletion',
  cancelFill: 'dllm.cancelFill',
  selectModel: 'dllm.selectModel',
} as const;

/** Context key set while a Fill Block request runs; Escape is bound to dllm.cancelFill under it. */
export const FILL_ACTIVE_CONTEXT = 'dllm.fillActive';
