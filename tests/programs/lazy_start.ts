// Records what the module makes at start-up that a program may never use: whether `process`
// (which Deno makes on first access, loading Node.js's process module) or `Deno.telemetry` (which
// loads Deno's telemetry code) is read, and whether a
// timer is made, while the module is imported, a console provider built, an activity recorded,
// and the program ends (the provider shuts down at exit). Then, with "active" as argument, an
// activity is made current across an await, which loads AsyncLocalStorage. Prints JSON lines.
// tests/programs_test.ts runs it.

const touched: string[] = [];
const descriptor = Object.getOwnPropertyDescriptor(globalThis, "process")!;
Object.defineProperty(globalThis, "process", {
  configurable: true,
  get() {
    touched.push("process");
    return descriptor.get!.call(globalThis);
  },
});
// Reading Deno.telemetry loads Deno's telemetry code; a program without OTEL_DENO needs none.
const telemetry = Object.getOwnPropertyDescriptor(Deno, "telemetry")!;
Object.defineProperty(Deno, "telemetry", {
  configurable: true,
  get() {
    touched.push("Deno.telemetry");
    return telemetry.get!.call(Deno);
  },
});
const timers = globalThis as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of ["setTimeout", "setInterval"]) {
  const original = timers[name]!;
  timers[name] = (...args: unknown[]) => {
    touched.push(name);
    return original(...args);
  };
}

const { ActivitySource, createTracerProviderBuilder } = await import("../../mod.ts");
const lines: string[] = [];
createTracerProviderBuilder().addSource("Start").addConsoleExporter({
  write: (text) => lines.push(text),
}).build();
const source = new ActivitySource("Start");
source.startActivity("Work")?.stop();
console.log(JSON.stringify({ at: "built", touched, records: lines.length }));

if (Deno.args[0] === "active") {
  const found = await source.startActiveActivity("Outer", async (outer) => {
    await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
    const inner = source.startActivity("Inner");
    inner?.stop();
    return inner?.parentSpanId === outer?.spanId;
  });
  console.log(JSON.stringify({ at: "active", touched, parentFound: found }));
}

globalThis.addEventListener("unload", () => {
  console.log(JSON.stringify({ at: "exit", touched, records: lines.length }));
});
