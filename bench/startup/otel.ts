// Start-up benchmark, the peer: the OpenTelemetry SDK with a console exporter, as
// bench/startup/console.ts does with this module. bench/startup.ts runs it.
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
} from "npm:@opentelemetry/sdk-trace-base@2.12.1";

new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] })
  .getTracer("App");
