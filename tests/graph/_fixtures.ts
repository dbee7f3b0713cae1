// Fixtures of the graph's renderer tests: a clock and ids that give the same output on every run,
// a source made with them, and the graphs the text and HTML tests both draw.

import assert from "node:assert/strict";
import {
  type Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  type Clock,
  createTracerProviderBuilder,
  type IdGenerator,
} from "../../mod.ts";
import { LinkGraph } from "../../graph/mod.ts";

let renderCounter = 0;

/** A clock that moves 1.25 ms forward each time it is read. */
export function steppingClock(): Clock {
  let ms = 0;
  return {
    timeOrigin: Date.UTC(2023, 9, 17, 1, 24, 40, 495),
    now: () => (ms += 1.25),
  };
}

/** Ids counted up from 1, so output is the same on every run. */
export function countingIds(): IdGenerator {
  let trace = 0;
  let span = 0;
  return {
    newTraceId: () => (++trace).toString(16).padStart(32, "0").replace(/^0/, "a"),
    newSpanId: () => (++span).toString(16).padStart(16, "0").replace(/^0/, "b"),
  };
}

export function deterministicSource(): ActivitySource {
  return new ActivitySource(`Render.Test.${++renderCounter}`, {
    clock: steppingClock(),
    idGenerator: countingIds(),
  });
}

/** Starts and stops an activity at once. */
export function run(
  source: ActivitySource,
  name: string,
  options: Parameters<ActivitySource["startActivity"]>[1] = {},
): Activity {
  const activity = source.startActivity(name, options);
  assert.ok(activity !== undefined, `${name} was not sampled`);
  activity.stop();
  return activity;
}

/** A batch linking to two requests and to an activity of another service. */
export async function batchGraph(): Promise<{ graph: LinkGraph; batch: Activity }> {
  const source = deterministicSource();
  const graph = new LinkGraph();
  const provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph)
    .build();
  const links = ["A-17", "B-42"].map((id, i) =>
    new ActivityLink(
      run(source, "EnqueueOrder", { kind: "producer", root: true, tags: { "order.id": id } })
        .context,
      { "batch.index": i },
    )
  );
  const elsewhere = ActivityContext.parse(
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  );
  links.push(new ActivityLink(elsewhere, { "batch.index": 2 }));
  const batch = source.startActivity("ProcessBatch", {
    kind: "consumer",
    root: true,
    links,
    tags: { "batch.size": 3 },
  })!;
  run(source, "Commit", { parent: batch, kind: "client" });
  batch.stop();
  await provider.shutdown();
  return { graph, batch };
}

/** A server span of another trace, with a remote parent and hostile names and tags. */
export async function hostileGraph(): Promise<{ graph: LinkGraph; server: Activity }> {
  const source = deterministicSource();
  const graph = new LinkGraph();
  const provider = createTracerProviderBuilder().addSource(source.name)
    .setServiceName("billing\u202Egnp.exe").addProcessor(graph).build();
  const parent = ActivityContext.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  const server = source.startActivity("Charge\ncard \u001b[31mred\u001b[0m", {
    kind: "server",
    parent,
    tags: { a: "x".repeat(60), b: 2.5, c: [1, "two"], d: true, e: "\u202Eevil" },
  })!;
  server.setStatus("error", "Card\r\ndeclined");
  run(source, "\u2067RTL\u2069", { parent: server });
  server.stop();
  await provider.shutdown();
  return { graph, server };
}
