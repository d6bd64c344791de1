// Linux /proc probes for another process (the engine worker): resident memory, CPU time, and its network sockets.
// The socket probe sees native code too (onnxruntime), which a JavaScript guard cannot.
import fs from 'node:fs';

export const HAVE_PROC = process.platform === 'linux' && fs.existsSync('/proc/self/status');

/** VmRSS of a process in bytes (NaN when unknown). */
export function rssOf(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** User + system CPU seconds a process has used (NaN when unknown). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return NaN;
  }
}

const INET_TABLES = ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6'];

/** The TCP/UDP/raw sockets a process holds open now (unix-domain sockets, e.g. IPC, are not listed). */
export function inetSocketsOf(pid: number): string[] {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes = new Set<string>();
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  if (inodes.size === 0) return [];
  const found: string[] = [];
  for (const table of INET_TABLES) {
    let text = '';
    try { text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9])) found.push(`${table} ${cols[1]} → ${cols[2]}`);
    }
  }
  return found;
}
