import assert from "node:assert/strict";
import {
  cleanValue,
  copyArrayValue,
  limitTags,
  MAX_TAG_ENTRIES,
  tagAppended,
  tagPosition,
  tagRemoved,
  toTagList,
  UNREADABLE_VALUE,
} from "../tags.ts";

Deno.test("toTagList() reads a record, a Map or pairs into a fresh list", () => {
  const pairs: [string, number][] = [["a", 1], ["b", 2]];
  for (const tags of [{ a: 1, b: 2 }, new Map(pairs), pairs]) {
    const list = toTagList(tags, "test");
    assert.deepEqual(list, [["a", 1], ["b", 2]]);
    assert.notEqual(list, tags);
  }
  assert.deepEqual(toTagList(undefined, "test"), []);
  assert.throws(() => toTagList(5 as never, "test"), {
    name: "TypeError",
    message: "Cannot read test tags: expected an object, a Map or pairs, got number",
  });
  assert.throws(() => toTagList([[1, 2]] as never, "test"), {
    name: "TypeError",
    message: "Cannot read test tags: each entry must be a [string, value] pair",
  });
});

Deno.test("toTagList() reads at most MAX_TAG_ENTRIES pairs from one iterable", () => {
  function* endless(): Generator<[string, number]> {
    for (let i = 0;; i++) yield [`k${i}`, i];
  }
  assert.equal(toTagList(endless(), "test").length, MAX_TAG_ENTRIES);
});

Deno.test("copyArrayValue() copies dense, within one element budget for the nested arrays too", async (t) => {
  await t.step("holes and undefined become null, strings are cut", () => {
    // deno-lint-ignore no-sparse-arrays
    const copy = copyArrayValue([1, , undefined, "abcdef"], {
      maxLength: 3,
      maxElements: 10,
      freeze: false,
    });
    assert.deepEqual(copy, { value: [1, null, null], cut: 0 });
  });
  await t.step("the budget counts every element, nested ones included", () => {
    const copy = copyArrayValue([[1, 2, 3], [4, 5, 6]], {
      maxLength: Infinity,
      maxElements: 6,
      freeze: true,
    });
    assert.deepEqual(copy.value, [[1, 2, 3], [4]]);
    assert.equal(copy.cut, 2);
    assert.ok(Object.isFrozen(copy.value) && Object.isFrozen(copy.value[0]));
  });
  await t.step("a cycle and deep nesting become text", () => {
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    let deep: unknown[] = [0];
    for (let i = 0; i < 20; i++) deep = [deep];
    const bounds = { maxLength: Infinity, maxElements: 100, freeze: false };
    assert.deepEqual(copyArrayValue(cyclic, bounds).value, [1, "[Circular]"]);
    assert.match(JSON.stringify(copyArrayValue(deep, bounds).value), /"\[Array\]"/);
  });
});

Deno.test("cleanValue() copies arrays and never throws", () => {
  const given = [1, 2];
  const kept = cleanValue(given, Infinity) as number[];
  given.push(3);
  assert.deepEqual(kept, [1, 2]);
  const revoked = Proxy.revocable([], {});
  revoked.revoke();
  assert.equal(cleanValue(revoked.proxy, Infinity), UNREADABLE_VALUE);
  assert.equal(cleanValue("abcdef", 2), "ab");
});

Deno.test("limitTags() returns the list itself when it is within the limits", () => {
  const list: [string, unknown][] = [["a", 1], ["b", "xyz"]];
  assert.equal(limitTags(list, 2, 10).tags, list);
  assert.deepEqual(limitTags(list, 1, 2), { tags: [["a", 1]], dropped: 1 });
  assert.deepEqual(limitTags(list, 2, 2), { tags: [["a", 1], ["b", "xy"]], dropped: 0 });
});

Deno.test("tagPosition() finds the first tag with a key, in short and long lists alike", () => {
  const tags: [string, unknown][] = Array.from({ length: 40 }, (_, i) => [`k${i % 30}`, i]);
  assert.equal(tagPosition(tags, "k5"), 5);
  assert.equal(tagPosition(tags, "missing"), -1);
  tagAppended(tags, "new");
  tags.push(["new", 40]);
  assert.equal(tagPosition(tags, "new"), 40);
  tags.splice(0, 1);
  tagRemoved(tags);
  assert.equal(tagPosition(tags, "k5"), 4);
  assert.equal(tagPosition(tags, "k0"), 29); // the first k0 was removed; the next is k0 = 30
  const short: [string, unknown][] = [["a", 1], ["a", 2]];
  assert.equal(tagPosition(short, "a"), 0);
});
