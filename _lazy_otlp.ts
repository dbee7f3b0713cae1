// The exporter behind `TracerProviderBuilder.addOtlpExporter()`: it loads otlp.ts on first
// construction (a dynamic import), so that a program importing only the core module never
// loads the OTLP code. Exports wait for the load; a bad option surfaces as the rejection of
// the first export (and of shutdown), which the processor reports.

import type { Activity } from "./activity.ts";
import type { ActivityExporter } from "./exporter.ts";
import type { Resource } from "./provider.ts";
import type { OtlpExporter, OtlpExporterOptions } from "./otlp.ts";

/** Loads and makes an {@linkcode OtlpExporter} in the background; forwards every call to it. */
export class OtlpExporterLoader implements ActivityExporter {
  readonly #exporter: Promise<OtlpExporter>;

  constructor(options: OtlpExporterOptions | undefined) {
    const copy = options === undefined ? undefined : { ...options };
    this.#exporter = import("./otlp.ts").then((module) => new module.OtlpExporter(copy));
    // Observed here so that an unused failing loader is no unhandled rejection; the error
    // reaches the processor through export() and shutdown().
    this.#exporter.catch(() => {});
  }

  async export(activities: readonly Activity[], resource: Resource): Promise<void> {
    return (await this.#exporter).export(activities, resource);
  }

  async forceFlush(): Promise<void> {
    return (await this.#exporter).forceFlush();
  }

  async shutdown(): Promise<void> {
    return (await this.#exporter).shutdown();
  }
}
