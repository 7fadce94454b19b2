// Entry of demo.wasm: spans go to OTEL_EXPORTER_OTLP_ENDPOINT over WasmEdge
// sockets (a runtime without sockets gets OTLP/JSON lines on stdout).
import { otlpHttp } from "../../assembly/index";
import { run } from "./job";
import { exit } from "./exit";

exit(run(otlpHttp));
