// The command line of the dashboard: --otlp, --ui, --max-traces and the rest, read strictly
// (an unknown flag or a bad value is an error that says what was wrong).

import { newToken } from "./_guard.ts";

/** A listening address: host name and port. */
export interface ListenAddress {
  /** The host name or IP address to bind. */
  readonly hostname: string;
  /** The port; `0` picks a free one. */
  readonly port: number;
}

/**
 * Reads `HOST:PORT` (`[::1]:4318` for IPv6).
 *
 * @throws {SyntaxError} When the text is not `HOST:PORT` or the port is not 0 to 65535.
 */
export function parseAddress(text: string, what: string): ListenAddress {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:\s\[\]]+):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || !(port <= 65535)) {
    throw new SyntaxError(`Cannot parse ${what}: expected HOST:PORT, got '${text.slice(0, 100)}'`);
  }
  const host = match[1]!;
  return { hostname: host.startsWith("[") ? host.slice(1, -1) : host, port };
}

/** The options the command line gives. */
export interface DashboardArgs {
  otlp: ListenAddress;
  ui: ListenAddress;
  maxTraces: number;
  maxMemoryBytes: number;
  maxBodyBytes: number;
  token: string | undefined;
  allowedHosts: string[];
  help: boolean;
}

/** The usage text of the command. */
export const USAGE =
  `Usage: deno run --allow-net=127.0.0.1 jsr:@tracelinks/activity/dashboard [options]

A local trace dashboard: OTLP/HTTP in (protobuf or JSON, gzip or not), linked traces out.

Options:
  --otlp=HOST:PORT        where OTLP/HTTP senders post /v1/traces (default 127.0.0.1:4318)
  --ui=HOST:PORT          where the page and its JSON API are served (default 127.0.0.1:18888)
  --max-traces=N          the most traces held; the least recently updated go first (default 10000)
  --max-memory=MIB        about the most memory the spans held take, in MiB (default 512)
  --max-body=MIB          the largest OTLP body, before and after gzip, in MiB (default 4)
  --token[=TOKEN]         require a token on every request (a random one when none is given);
                          needed for any address other than loopback
  --allow-host=NAME       a host name (besides IP addresses and localhost) the Host header may use;
                          may be given more than once
  --help                  this text
`;

function positive(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new RangeError(
      `Cannot read ${flag}: expected a number >= ${min}, got '${text.slice(0, 40)}'`,
    );
  }
  return n;
}

/** The options of a command line without flags. */
function defaultArgs(): DashboardArgs {
  return {
    otlp: { hostname: "127.0.0.1", port: 4318 },
    ui: { hostname: "127.0.0.1", port: 18888 },
    maxTraces: 10_000,
    maxMemoryBytes: 512 * 1024 * 1024,
    maxBodyBytes: 4 * 1024 * 1024,
    token: undefined,
    allowedHosts: [],
    help: false,
  };
}

/** Reads one flag (`value` is what follows its `=`, if anything) into `out`. */
function readFlag(out: DashboardArgs, arg: string, flag: string, value: string | undefined): void {
  const need = (): string => {
    if (value === undefined || value === "") {
      throw new TypeError(`Cannot read ${flag}: it needs a value (${flag}=...)`);
    }
    return value;
  };
  switch (flag) {
    case "--otlp":
      out.otlp = parseAddress(need(), flag);
      return;
    case "--ui":
      out.ui = parseAddress(need(), flag);
      return;
    case "--max-traces": {
      const n = positive(need(), flag);
      if (!Number.isInteger(n)) {
        throw new RangeError(`Cannot read ${flag}: expected a whole number, got '${value}'`);
      }
      out.maxTraces = n;
      return;
    }
    case "--max-memory":
      out.maxMemoryBytes = Math.round(positive(need(), flag, 1) * 1024 * 1024);
      return;
    case "--max-body":
      out.maxBodyBytes = Math.round(positive(need(), flag, 0.001) * 1024 * 1024);
      return;
    case "--token":
      if (value !== undefined && value.length < 16) {
        throw new RangeError("Cannot read --token: a token needs at least 16 characters");
      }
      out.token = value ?? newToken();
      return;
    case "--allow-host":
      out.allowedHosts.push(need().toLowerCase());
      return;
    case "--help":
    case "-h":
      out.help = true;
      return;
  }
  throw new TypeError(
    `Cannot read the command line: unknown option '${arg.slice(0, 100)}' (see --help)`,
  );
}

/**
 * Reads the command line.
 *
 * @throws {SyntaxError} When an address cannot be parsed.
 * @throws {RangeError} When a number is out of range.
 * @throws {TypeError} When a flag is unknown or lacks its value.
 */
export function parseArgs(args: readonly string[]): DashboardArgs {
  const out = defaultArgs();
  for (const arg of args) {
    const at = arg.indexOf("=");
    readFlag(out, arg, at < 0 ? arg : arg.slice(0, at), at < 0 ? undefined : arg.slice(at + 1));
  }
  return out;
}
