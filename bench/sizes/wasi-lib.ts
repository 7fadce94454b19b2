// The WASI library's share of a program: this module minus wasi-empty.ts,
// both compiled with the demo job's WASI options (scripts/build.mjs).
import { Options, init, otlpHttp, shutdown } from "../../assembly/index";

@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;

const tracer = init({ serviceName: "job", exporter: otlpHttp } as Options);
const span = tracer.startSpan("work");
span.setAttribute("items", "3");
span.end();
proc_exit(<u32>shutdown());
