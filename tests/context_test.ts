import assert from "node:assert/strict";
import { contextBackend, ContextVariable } from "../mod.ts";

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("contextBackend is an async backend on Deno", () => {
  assert.ok(contextBackend === "AsyncContext" || contextBackend === "AsyncLocalStorage");
});

Deno.test("ContextVariable.run() sets the value for the callback only", async (t) => {
  await t.step("synchronous callback; the return value is passed through", () => {
    const v = new ContextVariable<string>();
    assert.equal(v.get(), undefined);
    const result = v.run("a", () => v.get());
    assert.equal(result, "a");
    assert.equal(v.get(), undefined);
  });
  await t.step("nested runs restore the outer value", () => {
    const v = new ContextVariable<number>();
    const seen: (number | undefined)[] = [];
    v.run(1, () => {
      seen.push(v.get());
      v.run(2, () => seen.push(v.get()));
      seen.push(v.get());
      v.run(undefined, () => seen.push(v.get()));
      seen.push(v.get());
    });
    seen.push(v.get());
    assert.deepEqual(seen, [1, 2, 1, undefined, 1, undefined]);
  });
  await t.step("a throwing callback restores the value and rethrows", () => {
    const v = new ContextVariable<string>();
    const after = v.run("outer", () => {
      assert.throws(() =>
        v.run("inner", () => {
          throw new RangeError("boom");
        }), RangeError);
      return v.get();
    });
    assert.equal(after, "outer");
  });
  await t.step("two variables are independent", () => {
    const a = new ContextVariable<string>();
    const b = new ContextVariable<string>();
    const seen = a.run("a", () => [b.get(), b.run("b", () => [a.get(), b.get()])]);
    assert.deepEqual(seen, [undefined, ["a", "b"]]);
  });
});

Deno.test("ContextVariable.run() carries the value through async work", async (t) => {
  await t.step("await, timers, microtasks and promise callbacks", async () => {
    const v = new ContextVariable<string>();
    const seen: (string | undefined)[] = [];
    await v.run("flow", async () => {
      await Promise.resolve();
      seen.push(v.get());
      await tick();
      seen.push(v.get());
      await new Promise<void>((resolve) =>
        queueMicrotask(() => {
          seen.push(v.get());
          resolve();
        })
      );
      await Promise.resolve().then(() => seen.push(v.get()));
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          seen.push(v.get());
          resolve();
        }, 1)
      );
    });
    assert.deepEqual(seen, ["flow", "flow", "flow", "flow", "flow"]);
    assert.equal(v.get(), undefined);
  });
  await t.step("a callback scheduled inside run sees the value after run returned", async () => {
    const v = new ContextVariable<string>();
    let later: string | undefined = "not called";
    const done = new Promise<void>((resolve) => {
      v.run("scheduled", () => {
        setTimeout(() => {
          later = v.get();
          resolve();
        }, 0);
      });
    });
    assert.equal(v.get(), undefined);
    await done;
    assert.equal(later, "scheduled");
  });
  await t.step("the caller does not see the value after awaiting the callback", async () => {
    const v = new ContextVariable<string>();
    const promise = v.run("inside", async () => {
      await tick();
      return v.get();
    });
    assert.equal(v.get(), undefined);
    assert.equal(await promise, "inside");
    assert.equal(v.get(), undefined);
  });
});

Deno.test("ContextVariable keeps concurrent flows apart", async () => {
  const v = new ContextVariable<number>();
  const flows = Array.from({ length: 200 }, (_, i) =>
    v.run(i, async () => {
      const seen: (number | undefined)[] = [];
      for (let step = 0; step < 4; step++) {
        if (step % 2 === 0) await tick();
        else await Promise.resolve();
        seen.push(v.get());
        // A nested run in one flow must not show in another.
        await v.run(-i - 1, async () => {
          await Promise.resolve();
          seen.push(v.get());
        });
      }
      return seen;
    }));
  const results = await Promise.all(flows);
  results.forEach((seen, i) =>
    assert.deepEqual(seen, [i, -i - 1, i, -i - 1, i, -i - 1, i, -i - 1])
  );
  assert.equal(v.get(), undefined);
});
