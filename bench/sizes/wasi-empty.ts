// Baseline for wasi-lib.ts: the same program shape without the library. It
// allocates a string, so the garbage collector it would have anyway stays in.
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;

const items: string = "item-" + (<i32>Math.floor(Math.random() * 10)).toString();
proc_exit(<u32>items.length - 6);
