// The exporter behind `TracerProviderBuilder.addOtlpExporter()`: it loads otlp/exporter.ts on first
// construction (a dynamic import), so that a program importing only the core module never
// loads the OTLP code. Exports wait for the load; a bad option surfaces as the rejection of
// the first export (and of shutdown), which the processor reports. It is named `OtlpExporter`
// in reports, as the user added an OTLP exporter, and the exporter's own reports go to the
// handler of the provider it was added to.

import type { Activity } from "./activity.ts";
import type { ActivityExporter, FlushOptions, ProcessorContext } from "./processor.ts";
import type { Resource } from "./resource.ts";
import type { OtlpExporterOptions } from "./otlp/_config.ts";
import type { OtlpExporter } from "./otlp/exporter.ts";
import { type ErrorHandler, reportToStderr } from "./_diagnostics.ts";

/** Loads and makes an {@linkcode OtlpExporter} in the background; forwards every call to it. */
export class OtlpExporterLoader implements ActivityExporter {
  readonly #exporter: Promise<OtlpExporter>;
  // The provider's handler once registered; the exporter reports through it.
  #onError: ErrorHandler = reportToStderr;

  constructor(options: OtlpExporterOptions | undefined) {
    const copy: OtlpExporterOptions = { ...options };
    copy.onError ??= (error, where, level) => this.#onError(error, where, level);
    this.#exporter = import("./otlp/exporter.ts").then((module) => new module.OtlpExporter(copy));
    // Observed here so that an unused failing loader is no unhandled rejection; the error
    // reaches the processor through export() and shutdown().
    this.#exporter.catch(() => {});
  }

  register(context: ProcessorContext): void {
    this.#onError = context.reportError;
  }

  async export(activities: readonly Activity[], resource: Resource): Promise<void> {
    return (await this.#exporter).export(activities, resource);
  }

  async forceFlush(options?: FlushOptions): Promise<void> {
    return (await this.#exporter).forceFlush(options);
  }

  async shutdown(options?: FlushOptions): Promise<void> {
    return (await this.#exporter).shutdown(options);
  }
}

// Reports name the exporter by its class: the user's `OtlpExporter`, not this loader.
Object.defineProperty(OtlpExporterLoader, "name", { value: "OtlpExporter" });
