import assert from "node:assert/strict";
import {
  type Activity,
  ActivitySource,
  createTracerProviderBuilder,
  type Resource,
  RetryableExportError,
  SimpleProcessor,
} from "../mod.ts";
import { isRetryable } from "../processor.ts";

let counter = 0;
/**
 * A source no other test listens to, whose activities a provider (service "checkout") hands to
 * `processor`; the provider's reports go to `reports`.
 */
function sourceFor(
  processor: SimpleProcessor,
  reports: string[] = [],
): { source: ActivitySource } & Disposable {
  const name = `Processor.Test.${++counter}`;
  const provider = createTracerProviderBuilder().addSource(name).addProcessor(processor)
    .setServiceName("checkout").setEnvironment(false)
    .setErrorHandler((error, where) => reports.push(`${where}: ${(error as Error).message}`))
    .build();
  const source = new ActivitySource(name);
  return {
    source,
    [Symbol.dispose]: () => {
      source[Symbol.dispose]();
      provider[Symbol.dispose]();
    },
  };
}

Deno.test("SimpleProcessor exports each recorded activity alone, with the provider's resource", () => {
  const batches: [string[], unknown][] = [];
  const processor = new SimpleProcessor({
    export: (activities: readonly Activity[], resource: Resource) =>
      void batches.push([activities.map((a) => a.displayName), resource.get("service.name")]),
  });
  using setup = sourceFor(processor);
  setup.source.startActivity("One")?.stop();
  setup.source.startActivity("Two")?.stop();
  assert.deepEqual(batches, [[["One"], "checkout"], [["Two"], "checkout"]]);
  assert.equal(processor.pendingCount, 0);
});

Deno.test("SimpleProcessor counts the exports that fail and reports the exporter once", async () => {
  const reports: string[] = [];
  const processor = new SimpleProcessor({
    export: () => Promise.reject(new Error("Collector down")),
  });
  using setup = sourceFor(processor, reports);
  setup.source.startActivity("One")?.stop();
  setup.source.startActivity("Two")?.stop();
  assert.equal(processor.pendingCount, 2);
  await processor.forceFlush();
  assert.equal(processor.pendingCount, 0);
  assert.equal(processor.failedExportCount, 2);
  assert.deepEqual(reports, ["Exporter Object: Collector down"]);
  await processor.shutdown();
  setup.source.startActivity("After")?.stop();
  assert.equal(processor.failedExportCount, 2); // nothing is exported after shutdown
});

Deno.test("RetryableExportError and isRetryable() tell an export worth sending again", () => {
  const cause = new Error("503");
  const error = new RetryableExportError("Busy", { retryAfterMillis: 250, cause });
  assert.equal(error.retryAfterMillis, 250);
  assert.equal(error.cause, cause);
  assert.equal(
    new RetryableExportError("Busy", { retryAfterMillis: -1 }).retryAfterMillis,
    undefined,
  );
  assert.equal(isRetryable(error), true);
  assert.equal(isRetryable({ retryable: true }), true);
  assert.equal(isRetryable(new Error("Bad request")), false);
  const hostile = new Proxy({}, {
    get() {
      throw new Error("Unreadable");
    },
  });
  assert.equal(isRetryable(hostile), false);
});
