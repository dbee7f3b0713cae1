// Sampling a fan-out: the guide's orchestrator fans out to new traces linked back to it. Under a
// 10 % trace-id ratio sampler alone, the fanned-out traces of a kept orchestrator are kept only
// when their own trace ids happen to fall in the 10 %, so a kept trace points at linked traces
// that are mostly gone. With the links-aware sampler in front, an activity whose start links
// point at a recorded activity is recorded too: every fanned-out trace of a kept orchestrator is
// kept, and the others still follow the ratio.
//
//   deno run examples/sampling.ts
//
// Needs no permission. Prints, for each sampler, how many orchestrations and fanned-out traces
// were kept, then the console records of one kept orchestration.

import {
  type Activity,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  formatConsoleRecord,
  InMemoryExporter,
  LinksAwareSampler,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioSampler,
} from "../mod.ts";

const ORCHESTRATIONS = 200;
const FAN_OUT = 3;

const source = new ActivitySource("MyCompany.MyApplication");

interface Outcome {
  exported: Activity[];
  /** Span id of each orchestrator, and whether it was recorded. */
  orchestrators: Map<string, boolean>;
}

async function run(sampler: Sampler): Promise<Outcome> {
  const exporter = new InMemoryExporter();
  const orchestrators = new Map<string, boolean>();
  // The environment is ignored so that OTEL_* variables cannot change what this shows.
  await using _provider = createTracerProviderBuilder()
    .addSource("MyCompany.MyApplication")
    .setSampler(sampler)
    .addBatchExporter(exporter)
    .setEnvironment(false)
    .build();
  for (let i = 0; i < ORCHESTRATIONS; i++) {
    await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
      if (orchestrating === undefined) return;
      orchestrators.set(orchestrating.spanId, orchestrating.recorded);
      const links = [new ActivityLink(orchestrating.context)];
      await Promise.all(
        Array.from({ length: FAN_OUT }, (_, n) =>
          source.startActiveActivity(
            `FannedOutActivity ${n + 1}`,
            { links, root: true },
            async (fannedOut) => {
              using _child = source.startActivity("Work");
              fannedOut?.setTag("operation.index", n + 1);
              await Promise.resolve();
            },
          )),
      );
      using wrapUp = source.startActivity("WrapUp");
      wrapUp?.setTag("status", "completed");
    });
  }
  // The provider is shut down when this function returns, which exports what is queued.
  return { exported: exporter.activities, orchestrators };
}

function report(title: string, sampler: Sampler, outcome: Outcome): void {
  const fannedOut = outcome.exported.filter((a) => a.displayName.startsWith("FannedOut"));
  const keptOrchestrators = [...outcome.orchestrators.values()].filter(Boolean).length;
  let ofKept = 0;
  let ofDropped = 0;
  for (const activity of fannedOut) {
    const linked = activity.links[0]?.context.spanId ?? "";
    if (outcome.orchestrators.get(linked) === true) ofKept++;
    else ofDropped++;
  }
  const dropped = ORCHESTRATIONS - keptOrchestrators;
  console.log(`${title}: ${sampler.description}`);
  console.log(
    `  orchestrations kept:                              ${keptOrchestrators} of ${ORCHESTRATIONS}`,
  );
  console.log(
    `  fanned-out traces of kept orchestrations kept:    ${ofKept} of ${
      keptOrchestrators * FAN_OUT
    }`,
  );
  console.log(
    `  fanned-out traces of dropped orchestrations kept: ${ofDropped} of ${
      dropped * FAN_OUT
    } (their own ratio draw)`,
  );
  console.log("");
}

const ratioOnly = new ParentBasedSampler(new TraceIdRatioSampler(0.1));
const linksAware = new LinksAwareSampler(new ParentBasedSampler(new TraceIdRatioSampler(0.1)));

const before = await run(ratioOnly);
report("Ratio sampler alone", ratioOnly, before);
const after = await run(linksAware);
report("Links-aware sampler", linksAware, after);

// The console records of the first kept orchestration: its own trace (the orchestrator, its
// WrapUp child) and the fanned-out traces that link to it, each with its Work child.
const first = after.exported.find((a) => a.displayName === "OrchestratingActivity" && a.recorded);
if (first !== undefined) {
  const group = after.exported.filter((a) =>
    a.traceId === first.traceId ||
    a.links.some((link) => link.context.spanId === first.spanId) ||
    after.exported.some((f) =>
      f.traceId === a.traceId && f.links.some((link) => link.context.spanId === first.spanId)
    )
  );
  console.log(`One kept orchestration (${group.length} records):`);
  console.log("");
  for (const activity of group) console.log(formatConsoleRecord(activity).trimEnd() + "\n");
}
