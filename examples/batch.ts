// The batch-processing case of the OpenTelemetry .NET guide "Creating links between traces":
// messages published from several traces are processed together by one consumer activity,
// which cannot have them all as parents, so it links to each message's context instead. The
// producers put the trace context in each message's headers with inject(); the consumer reads
// it back with extract(); each link's tags say which message it stands for.
//
//   deno run examples/batch.ts
//
// Prints four records: three PublishOrders activities (one trace each), then ProcessBatch
// (a fourth trace) with six links, two into each of the three traces.

import {
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  extract,
  inject,
  type TracerProviderBuilder,
} from "../mod.ts";

/** A message on the queue: its id, its body, and headers carrying the trace context. */
export interface Message {
  id: string;
  body: string;
  headers: Map<string, string>;
}

/**
 * Runs the example: three producers publish two messages each, then one consumer processes
 * the six in one batch.
 *
 * @param configure Adds exporters to the provider (the console exporter by default).
 * @returns The messages that were processed.
 */
export async function runBatch(
  configure: (builder: TracerProviderBuilder) => TracerProviderBuilder = (b) =>
    b.addConsoleExporter(),
): Promise<Message[]> {
  const producer = new ActivitySource("MyCompany.Producer");
  const consumer = new ActivitySource("MyCompany.Consumer");
  const provider = configure(createTracerProviderBuilder().addSource("MyCompany.*")).build();
  const queue: Message[] = [];

  // Three independent requests, each in a trace of its own, publish two messages each.
  for (const customer of ["alice", "bob", "carol"]) {
    await producer.startActiveActivity(
      "PublishOrders",
      { kind: "producer", root: true },
      async (activity) => {
        activity?.setTag("customer", customer);
        for (const n of [1, 2]) {
          const headers = new Map<string, string>();
          inject(activity, headers);
          queue.push({ id: `${customer}-${n}`, body: `order ${n} of ${customer}`, headers });
        }
        await Promise.resolve();
      },
    );
  }

  // The consumer takes the whole batch: one activity, one link per message.
  const batch = queue.splice(0, queue.length);
  const links = batch.flatMap((message, index) => {
    const context = extract(message.headers);
    return context === undefined ? [] : [
      new ActivityLink(context, {
        "messaging.message.id": message.id,
        "messaging.batch.index": index,
      }),
    ];
  });
  await consumer.startActiveActivity(
    "ProcessBatch",
    {
      kind: "consumer",
      root: true,
      links,
      tags: { "messaging.batch.message_count": batch.length },
    },
    async (activity) => {
      for (const message of batch) {
        // Process each message...
        await Promise.resolve(message.body);
      }
      activity?.setStatus("ok");
    },
  );

  await provider.shutdown();
  return batch;
}

if (import.meta.main) await runBatch();
