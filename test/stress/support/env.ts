// Environment variables set for the duration of a call (inherited by a worker forked meanwhile), then restored.

/** A Vulkan loader that sees no driver: Dawn finds no WebGPU adapter, whatever the machine has. */
export const NO_VULKAN_DRIVER = { VK_ICD_FILENAMES: '/nonexistent/no-driver.json', VK_DRIVER_FILES: '/nonexistent/no-driver.json' };

export async function withEnv<T>(vars: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
