// OTLP/gRPC settings, without a network: the default endpoint, `host:port` endpoints and the
// insecure setting, paths that gRPC does not use, headers checked as gRPC metadata, and the
// certificate file.

import assert from "node:assert/strict";
import { OtlpExporter, type OtlpExporterOptions } from "../../otlp/mod.ts";

const EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

function grpc(options: OtlpExporterOptions, reports: string[] = []): OtlpExporter {
  return new OtlpExporter({
    protocol: "grpc",
    env: () => undefined,
    onError: (error) => reports.push((error as Error).message),
    ...options,
  });
}

Deno.test("OtlpExporter with protocol grpc goes to http://localhost:4317 by default", () => {
  const reports: string[] = [];
  const otlp = grpc({}, reports);
  assert.equal(otlp.protocol, "grpc");
  assert.equal(otlp.url, `http://localhost:4317${EXPORT}`);
  const fromEnv = new OtlpExporter({ env: envOf({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }) });
  assert.equal(fromEnv.protocol, "grpc");
  assert.equal(fromEnv.url, `http://localhost:4317${EXPORT}`);
  const traces = new OtlpExporter({
    env: envOf({
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc",
    }),
  });
  assert.equal(traces.protocol, "grpc");
  assert.deepEqual(reports, []);
});

Deno.test("OtlpExporter with protocol grpc uses the endpoint as is, with no /v1/traces", () => {
  const reports: string[] = [];
  assert.equal(grpc({ endpoint: "http://collector:4317" }).url, `http://collector:4317${EXPORT}`);
  assert.equal(grpc({ url: "https://collector:443/" }).url, `https://collector${EXPORT}`);
  const env = envOf({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://general:4317",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4317",
  });
  assert.equal(grpc({ env }).url, `http://traces:4317${EXPORT}`);
  // A path is not part of a gRPC server's address: said once, and not used.
  assert.equal(
    grpc({ endpoint: "http://collector:4317/v1/traces" }, reports).url,
    `http://collector:4317${EXPORT}`,
  );
  assert.deepEqual(reports, [
    `Ignoring the path of endpoint="/v1/traces": a gRPC call goes to ${EXPORT}`,
  ]);
});

Deno.test("OtlpExporter with protocol grpc: host:port is TLS unless insecure, a scheme wins", async (t) => {
  await t.step("options", () => {
    assert.equal(grpc({ endpoint: "collector:4317" }).url, `https://collector:4317${EXPORT}`);
    assert.equal(
      grpc({ endpoint: "collector:4317", insecure: true }).url,
      `http://collector:4317${EXPORT}`,
    );
    assert.equal(
      grpc({ endpoint: "https://collector:4317", insecure: true }).url,
      `https://collector:4317${EXPORT}`,
    );
    assert.equal(
      grpc({ endpoint: "http://collector:4317", insecure: false }).url,
      `http://collector:4317${EXPORT}`,
    );
  });
  await t.step("variables: the traces one wins over the general one", () => {
    const reports: string[] = [];
    const general = grpc({
      env: envOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4317",
        OTEL_EXPORTER_OTLP_INSECURE: "TRUE",
      }),
    });
    assert.equal(general.url, `http://collector:4317${EXPORT}`);
    const traces = grpc({
      env: envOf({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4317",
        OTEL_EXPORTER_OTLP_INSECURE: "true",
        OTEL_EXPORTER_OTLP_TRACES_INSECURE: "false",
      }),
    });
    assert.equal(traces.url, `https://collector:4317${EXPORT}`);
    const bad = grpc({
      env: envOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4317",
        OTEL_EXPORTER_OTLP_INSECURE: "yes",
      }),
    }, reports);
    assert.equal(bad.url, `https://collector:4317${EXPORT}`);
    assert.deepEqual(reports, [
      'Ignoring OTEL_EXPORTER_OTLP_INSECURE="yes": expected true or false',
    ]);
  });
  await t.step("a bad insecure option is a TypeError", () => {
    assert.throws(
      () => grpc({ insecure: "true" as never }),
      {
        name: "TypeError",
        message: "Cannot make OtlpExporter: insecure must be a boolean, got true",
      },
    );
  });
});

Deno.test("OtlpExporter with protocol grpc checks headers as gRPC metadata", async (t) => {
  await t.step("an option that cannot be metadata is a TypeError", () => {
    for (
      const [headers, why] of [
        [{ "grpc-timeout": "1S" }, "'grpc-timeout' is set by the gRPC transport itself"],
        [{ te: "gzip" }, "'te' is set by the gRPC transport itself"],
        [{ "x-id-bin": "not base64!" }, "the value of a '-bin' key must be base64"],
        [{ "x-name": "caf\u00e9" }, "gRPC metadata values are printable ASCII"],
      ] as const
    ) {
      assert.throws(() => grpc({ headers }), {
        name: "TypeError",
        message: `Cannot make OtlpExporter: header "${
          Object.keys(headers)[0]
        }" cannot be gRPC metadata: ${why}`,
      });
    }
  });
  await t.step("a variable's bad header is ignored, the good ones kept", () => {
    const reports: string[] = [];
    grpc({
      env: envOf({ OTEL_EXPORTER_OTLP_HEADERS: "api-key=k1,grpc-status=0" }),
    }, reports);
    assert.deepEqual(reports, [
      `Ignoring OTEL_EXPORTER_OTLP_HEADERS="api-key=k1,grpc-status=0": header "grpc-status" cannot be gRPC metadata: 'grpc-status' is set by the gRPC transport itself`,
    ]);
  });
  await t.step("HTTP is not held to the metadata rules", () => {
    const reports: string[] = [];
    new OtlpExporter({
      env: () => undefined,
      headers: { "x-name": "a b" },
      onError: (e) => reports.push(String(e)),
    });
    assert.deepEqual(reports, []);
  });
});

Deno.test("OtlpExporter reads the certificate setting for grpc only, and says so otherwise", () => {
  const reports: string[] = [];
  grpc({ certificate: "/etc/ca.pem" }, reports);
  grpc({ env: envOf({ OTEL_EXPORTER_OTLP_CERTIFICATE: "/etc/ca.pem" }) }, reports);
  assert.equal(reports.length, 0);
  new OtlpExporter({
    env: envOf({ OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: "/etc/ca.pem" }),
    onError: (error) => reports.push((error as Error).message),
  });
  assert.deepEqual(reports, [
    'Ignoring OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE="/etc/ca.pem": only OTLP/gRPC reads a certificate file here; for OTLP/HTTP, give the runtime the certificate authority',
  ]);
  assert.throws(() => grpc({ certificate: "" }), {
    name: "TypeError",
    message: 'Cannot make OtlpExporter: certificate must be the path of a PEM file, got ""',
  });
});

Deno.test("OtlpExporter with protocol grpc says that it does not use a fetch given to it", () => {
  const reports: string[] = [];
  grpc({ fetch: () => Promise.resolve(new Response(null)) }, reports);
  assert.deepEqual(reports, ['Ignoring fetch="(a function)": OTLP/gRPC does not use fetch']);
});
