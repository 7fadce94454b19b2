@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;

/** Exits with `code` when it is not 0 (returning from _start exits with 0). */
export function exit(code: i32): void {
  if (code) proc_exit(<u32>code);
}
