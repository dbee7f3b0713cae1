// Start-up benchmark: import the module and build a console provider, as a program that traces
// to the console does. bench/startup.ts runs it.
import { createTracerProviderBuilder } from "../../mod.ts";

createTracerProviderBuilder().addSource("App").addConsoleExporter().build();
