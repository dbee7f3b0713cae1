// What the Node.js programs of tests/programs_test.ts import, bundled: the module and its OTLP
// exporter.

export * from "../../mod.ts";
export { OtlpExporter } from "../../otlp/mod.ts";
