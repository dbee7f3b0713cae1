// Many async flows at once: the current activity of each flow stays its own through every
// kind of await, and never shows outside the scope that set it.
import assert from "node:assert/strict";
import { Activity, ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "../mod.ts";

const FLOWS = 1_000;
const STEPS = 5;

/** Three ways to give way to other flows. */
const WAITS: (() => Promise<void>)[] = [
  () => Promise.resolve(),
  () => new Promise((resolve) => setTimeout(resolve, 0)),
  () => new Promise((resolve) => queueMicrotask(resolve)),
];

Deno.test("Activity.current stays with its own flow across 1,000 concurrent async flows", async (t) => {
  const exporter = new InMemoryExporter();
  const name = "ConcurrencyTest";
  using _provider = createTracerProviderBuilder().addSource(name).addInMemoryExporter(exporter)
    .build();
  const source = new ActivitySource(name);
  const mismatches: string[] = [];
  const check = (what: string, expected: Activity | undefined) => {
    if (Activity.current !== expected) mismatches.push(what);
  };

  // A bystander outside every flow, running while the flows run.
  const bystander = (async () => {
    for (let i = 0; i < 20; i++) {
      await WAITS[i % 3]!();
      check(`bystander ${i}`, undefined);
    }
  })();

  const flows = Array.from(
    { length: FLOWS },
    (_, i) =>
      source.startActiveActivity(`Flow ${i}`, { root: true }, async (flow) => {
        check(`flow ${i} start`, flow);
        for (let step = 0; step < STEPS; step++) {
          await WAITS[(i + step) % 3]!();
          check(`flow ${i} step ${step}`, flow);
          const child = source.startActivity(`Child ${i}.${step}`);
          child?.setTag("flow", i);
          await source.startActiveActivity(`Nested ${i}.${step}`, async (nested) => {
            await WAITS[(i + step + 1) % 3]!();
            check(`nested ${i}.${step}`, nested);
            source.startActivity(`Grandchild ${i}.${step}`)?.stop();
            await Activity.run(null, async () => {
              await WAITS[(i + step + 2) % 3]!();
              check(`no activity in ${i}.${step}`, undefined);
            });
            check(`nested ${i}.${step} after run(null)`, nested);
          });
          check(`flow ${i} after nested ${step}`, flow);
          await WAITS[(i + step + 2) % 3]!();
          child?.stop();
        }
        return flow;
      }),
  );
  check("right after starting the flows", undefined);
  const roots = await Promise.all(flows);
  await bystander;
  check("after all flows", undefined);
  source[Symbol.dispose]();

  await t.step("every check inside and outside the flows saw the right activity", () => {
    assert.deepEqual(mismatches, []);
  });
  await t.step("every flow is its own trace", () => {
    assert.equal(new Set(roots.map((r) => r?.traceId)).size, FLOWS);
  });
  await t.step("every child's parent is its own flow's activity", () => {
    const byName = new Map(exporter.activities.map((a) => [a.displayName, a]));
    assert.equal(exporter.activities.length, FLOWS * (1 + 3 * STEPS));
    for (let i = 0; i < FLOWS; i++) {
      const flow = byName.get(`Flow ${i}`)!;
      assert.equal(flow, roots[i]);
      for (let step = 0; step < STEPS; step++) {
        const child = byName.get(`Child ${i}.${step}`)!;
        const nested = byName.get(`Nested ${i}.${step}`)!;
        const grandchild = byName.get(`Grandchild ${i}.${step}`)!;
        assert.equal(child.parent, flow, `Child ${i}.${step}`);
        assert.equal(child.getTagItem("flow"), i);
        assert.equal(nested.parent, flow, `Nested ${i}.${step}`);
        assert.equal(grandchild.parent, nested, `Grandchild ${i}.${step}`);
        assert.equal(grandchild.traceId, flow.traceId);
      }
    }
  });
  await t.step("nothing is current after the flows", () => {
    assert.equal(Activity.current, undefined);
  });
});

Deno.test("Activity.run() does not leak into the caller or into siblings started before", async () => {
  const name = "ConcurrencyTest.Leak";
  using _provider = createTracerProviderBuilder().addSource(name).build();
  const source = new ActivitySource(name);
  using outer = source.startActivity("Outer")!;
  const seen: (Activity | undefined)[] = [];
  const sibling = (async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    seen.push(Activity.current);
  })();
  const inside = Activity.run(outer, async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return Activity.current;
  });
  seen.push(Activity.current);
  assert.equal(await inside, outer);
  await sibling;
  seen.push(Activity.current);
  assert.deepEqual(seen, [undefined, undefined, undefined]);
  source[Symbol.dispose]();
});
