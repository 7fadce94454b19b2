// Types of host.mjs (a plain ESM file so the demo can run it without a build).
export interface RunOptions {
  /** Path of the WASI module. */
  wasm: string | URL;
  /** argv after the program name. */
  args?: string[];
  /** The module's whole environment. */
  env?: Record<string, string>;
  /** 'wasmedge' (default): WasmEdge's socket calls over node:net; 'nosys': present but
   * answering ENOSYS; false: not supplied (a module importing them fails to link). */
  sockets?: 'wasmedge' | 'nosys' | false;
  /** Guest path → host directory. */
  preopens?: Record<string, string>;
  /** Counter clocks and counter entropy, so two runs of one job give identical spans. */
  deterministic?: boolean;
  /** The bytes random_get hands out, over and over (clocks stay real): the ids a JS tracer seeded with the same bytes makes. */
  entropy?: number[];
  /** Names sock_getaddrinfo resolves to the given address without a lookup (as /etc/hosts would). */
  hosts?: Record<string, string>;
  /** For tests: the named WASI import (`clock_time_get`, `sock_recv`, ...) answers `errno` from its `from`-th call on (1: every call). */
  faults?: Record<string, { from: number; errno: number }>;
  /** The worker is terminated after this long (default 60 000). */
  timeoutMs?: number;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Every fd the shim's sock_open handed out. */
  socketFds: number[];
  /** Socket calls served, by operation (OPEN, CONNECT, SEND, RECV, CLOSE, GETADDRINFO). */
  socketCalls: Record<string, number>;
}

export function runWasi(o: RunOptions): Promise<RunResult>;
export const OP: Record<'OPEN' | 'CONNECT' | 'SEND' | 'RECV' | 'CLOSE' | 'GETADDRINFO', number>;
export const CTL_BYTES: number;
export const DATA_BYTES: number;
