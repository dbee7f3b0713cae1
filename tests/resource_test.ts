import assert from "node:assert/strict";
import { ActivitySource, ConsoleExporter, createTracerProviderBuilder, Resource } from "../mod.ts";
import { withoutDefaults } from "../_default_resource.ts";

let counter = 0;
function uniqueName(prefix = "ProviderTest"): string {
  return `${prefix}${++counter}`;
}

Deno.test("Resource keeps attributes in order, each key once", async (t) => {
  await t.step("a later duplicate wins; null removes", () => {
    const r = new Resource([["a", 1], ["b", 2], ["a", 3], ["b", null], ["c", "x"]] as [
      string,
      number | string | null,
    ][]);
    assert.deepEqual(r.attributes, [["a", 3], ["c", "x"]]);
    assert.equal(r.get("a"), 3);
    assert.equal(r.get("b"), undefined);
    assert.ok(Object.isFrozen(r.attributes));
  });
  await t.step("merge(): the other resource wins", () => {
    const merged = new Resource({ "service.name": "a", x: 1 }).merge(
      new Resource({ "service.name": "b" }),
    );
    assert.deepEqual(merged.attributes, [["service.name", "b"], ["x", 1]]);
    assert.deepEqual(Resource.empty.attributes, []);
  });
  await t.step("the builder merges setResource and setServiceName", () => {
    const name = uniqueName();
    using provider = createTracerProviderBuilder()
      .addSource(name)
      .setResource({ "service.name": "first", "host.name": "h1" })
      .setServiceName("checkout", "2.0.0")
      .setResource(new Resource({ "deployment.environment": "test" }))
      .build();
    // Over the default resource, whose service.name comes first.
    assert.deepEqual(withoutDefaults(provider.resource.attributes), [
      ["service.name", "checkout"],
      ["host.name", "h1"],
      ["service.version", "2.0.0"],
      ["deployment.environment", "test"],
    ]);
    assert.equal(provider.resource.get("telemetry.sdk.name"), "@tracelinks/activity");
  });
  await t.step("the console exporter prints the provider's resource", () => {
    const written: string[] = [];
    const name = uniqueName();
    using _provider = createTracerProviderBuilder()
      .addSource(name)
      .addExporter(new ConsoleExporter({ write: (text) => written.push(text) }))
      .setServiceName("OrderService")
      .build();
    const source = new ActivitySource(name);
    source.startActivity("Work")?.stop();
    assert.ok(
      written[0]!.endsWith(
        "\nResource associated with Activity:\n    service.name: OrderService\n\n",
      ),
    );
    source[Symbol.dispose]();
  });
});
