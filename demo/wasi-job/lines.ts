// Entry of demo-lines.wasm: the same job, linked without the socket imports;
// spans are OTLP/JSON lines on stdout (or in the file WASMTRACE_OUTPUT names).
import { otlpLines } from "../../assembly/index";
import { run } from "./job";
import { exit } from "./exit";

exit(run(otlpLines));
