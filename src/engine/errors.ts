// EngineError: a user-facing error with a stable code (see EngineErrorInfo in protocol.ts).
import type { EngineErrorInfo } from './protocol';

export type EngineErrorCode = EngineErrorInfo['code'];

export class EngineError extends Error {
  readonly code: EngineErrorCode;

  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }

  toInfo(): EngineErrorInfo {
    return { code: this.code, message: this.message };
  }

  static fromInfo(info: EngineErrorInfo): EngineError {
    return new EngineError(info.code, info.message);
  }
}

/** Any thrown value as an EngineError (unknown errors become INTERNAL, allocation failures OUT_OF_MEMORY). */
export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // onnxruntime's CPU/GPU arenas say "Failed to allocate memory for requested buffer of size N"; CUDA says "out of memory".
  if (/out of memory|bad_alloc|allocation failed|failed to allocate|Array buffer allocation/i.test(message)) {
    return new EngineError('OUT_OF_MEMORY', `Out of memory while decoding: ${message}`, { cause: err });
  }
  return new EngineError('INTERNAL', message, { cause: err });
}
