// Network guard for the stress layer, loaded with `node --require` (test/stress/run.mjs). It blocks and records every
// TCP/UDP connection, DNS lookup and fetch in this process and, because child processes forked by EngineClient inherit
// process.execArgv, in the engine worker too. Unix-domain sockets (the worker's IPC channel) are allowed.
// Records go to $DLLM_NETWORK_LOG (JSON lines: pid, kind, target, stack) and to globalThis.__dllmNetworkAttempts.
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';

export interface NetworkAttempt {
  pid: number;
  kind: string;
  target: string;
  stack: string;
}

/** The guard's self-test target (TEST-NET-1, never routable); rows with it are not violations. */
export const SELF_TEST_TARGET = '192.0.2.1:9';

const attempts: NetworkAttempt[] = ((globalThis as any).__dllmNetworkAttempts ??= []);

function record(kind: string, target: string): Error {
  const stack = (new Error().stack ?? '').split('\n').slice(3, 12).join('\n');
  const row: NetworkAttempt = { pid: process.pid, kind, target, stack };
  attempts.push(row);
  if (process.env.DLLM_NETWORK_LOG) {
    try { fs.appendFileSync(process.env.DLLM_NETWORK_LOG, JSON.stringify(row) + '\n'); } catch { /* best effort */ }
  }
  return Object.assign(new Error(`dllm stress: network access blocked (${kind} ${target})`), { code: 'ENETUNREACH' });
}

function install(): void {
  if ((globalThis as any).__dllmNetworkGuard) return;
  (globalThis as any).__dllmNetworkGuard = true;

  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: any[]) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const options = typeof first === 'object' && first !== null ? first : undefined;
    const ipcPath = options?.path ?? (typeof first === 'string' && !/^\d+$/.test(first) ? first : undefined);
    if (ipcPath !== undefined) return (connect as any).apply(this, args);
    const port = options?.port ?? first;
    const host = options?.host ?? (typeof args[1] === 'string' ? args[1] : 'localhost');
    throw record('tcp', `${host}:${port}`);
  } as typeof net.Socket.prototype.connect;

  const lookup = (kind: string) => (hostname: unknown, ...rest: any[]) => {
    const err = record(kind, String(hostname));
    const cb = rest.find((a) => typeof a === 'function');
    if (cb) process.nextTick(cb, err);
    else throw err;
  };
  for (const name of ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveTxt', 'resolveSrv'] as const) {
    (dns as any)[name] = lookup(`dns.${name}`);
  }
  for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6'] as const) {
    (dns.promises as any)[name] = async (hostname: unknown) => { throw record(`dns.promises.${name}`, String(hostname)); };
  }
  (dgram as any).createSocket = (type: unknown) => { throw record('udp', String(typeof type === 'object' ? (type as any)?.type : type)); };
  if (typeof globalThis.fetch === 'function') {
    globalThis.fetch = (async (input: unknown) => {
      throw record('fetch', String(typeof input === 'object' && input !== null && 'url' in input ? (input as any).url : input));
    }) as typeof fetch;
  }
}

install();

export function networkAttempts(): readonly NetworkAttempt[] {
  return attempts;
}
