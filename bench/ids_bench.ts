// Row 5: one trace id plus one span id. Ours come from crypto.getRandomValues through a pooled
// buffer; the peer, RandomIdGenerator, uses Math.random.
//
//   deno bench --allow-env bench/ids_bench.ts

import { newSpanId, newTraceId } from "../mod.ts";
import { bench, keep, RandomIdGenerator } from "./_common.ts";

const generator = new RandomIdGenerator();

bench({
  name: "activity: newTraceId + newSpanId",
  group: "ids",
  baseline: true,
  fn() {
    keep(newTraceId());
    keep(newSpanId());
  },
});

bench({
  name: "opentelemetry: RandomIdGenerator trace + span id",
  group: "ids",
  fn() {
    keep(generator.generateTraceId());
    keep(generator.generateSpanId());
  },
});
