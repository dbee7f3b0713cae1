import assert from "node:assert/strict";
import plugin, { MAX_FILE_LINES, MAX_FUNCTION_LINES } from "../../.ci/lint_sizes.ts";

/** A function of `lines` lines. */
function functionOf(lines: number): string {
  return `function f(): number {\n${"  0;\n".repeat(lines - 3)}  return 1;\n}\n`;
}

function lint(file: string, source: string): string[] {
  return Deno.lint.runPlugin(plugin, file, source).map((d) => `${d.id}: ${d.message}`);
}

Deno.test("small-units reports a function over 60 lines, and only that", () => {
  assert.deepEqual(lint("mod.ts", functionOf(MAX_FUNCTION_LINES)), []);
  assert.deepEqual(lint("mod.ts", functionOf(MAX_FUNCTION_LINES + 1)), [
    "small-units/max-function-lines: Function f has 61 lines, more than 60",
  ]);
  const method = `class A {\n  #m(): void {\n${"    0;\n".repeat(60)}  }\n}\n`;
  assert.deepEqual(lint("otlp/exporter.ts", method), [
    "small-units/max-function-lines: Method #m has 62 lines, more than 60",
  ]);
});

Deno.test("small-units reports a source file over 600 lines, not a test or a benchmark", () => {
  const long = "0;\n".repeat(MAX_FILE_LINES + 1);
  assert.deepEqual(lint("activity.ts", "0;\n".repeat(MAX_FILE_LINES)), []);
  assert.deepEqual(lint("activity.ts", long), [
    "small-units/max-file-lines: This file has 601 lines, more than 600",
  ]);
  assert.deepEqual(lint("tests/activity_test.ts", long + functionOf(100)), []);
  assert.deepEqual(lint("bench/run.ts", long), []);
});
