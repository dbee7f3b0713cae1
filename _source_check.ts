// A debug note of the tracer provider (OTEL_LOG_LEVEL=debug): a provider whose source names
// match no source records nothing, silently. It says so at once when it listens to no source,
// else when no source matched in its first seconds (or before it was shut down), with the names
// of the last sources it saw.

import { type ErrorHandler, safeReport } from "./_diagnostics.ts";
import { unrefTimer } from "./_timers.ts";

/** How long after it is built a provider in debug mode checks that a source matched. */
const SOURCE_CHECK_DELAY = 5_000;

/** How many names of unmatched sources the note shows: those of the latest sources. */
const NAMES_SHOWN = 10;

/** Watches whether a provider's source names match any source, and says when none did. */
export class SourceCheck {
  readonly #names: readonly string[];
  readonly #onError: ErrorHandler;
  #timer: unknown;
  #matched = false;
  #ended = false;
  readonly #seen: string[] = [];
  #earlier = 0;

  /** Starts watching; says at once when there is no source name at all. */
  constructor(names: readonly string[], onError: ErrorHandler) {
    this.#names = names;
    this.#onError = onError;
    if (names.length === 0) {
      this.#ended = true;
      safeReport(
        onError,
        new Error(
          "The provider listens to no source, so it records nothing: add sources with addSource(name)",
        ),
        "TracerProvider",
        "debug",
      );
      return;
    }
    try {
      this.#timer = globalThis.setTimeout(() => this.end(false), SOURCE_CHECK_DELAY);
      unrefTimer(this.#timer);
    } catch {
      // Without a timer, the check runs at shutdown only.
    }
  }

  /** Notes a source the provider was asked about, and whether it listens to it. */
  saw(name: string, listens: boolean): void {
    if (this.#ended) return;
    if (listens) {
      this.#matched = true;
    } else if (this.#seen.push(name) > NAMES_SHOWN) {
      this.#seen.shift();
      this.#earlier++;
    }
  }

  /** Ends the check (after its delay, or at shutdown): says so if no source matched. */
  end(atShutdown: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      globalThis.clearTimeout(this.#timer as number);
    } catch {
      // Already fired.
    }
    if (this.#matched) return;
    const patterns = this.#names.map((n) => JSON.stringify(n)).join(", ");
    const seen = this.#seen.length === 0
      ? "none"
      : `${this.#earlier > 0 ? `${this.#earlier} others, then ` : ""}${
        this.#seen.map((n) => JSON.stringify(n)).join(", ")
      }`;
    safeReport(
      this.#onError,
      new Error(
        `No source matched the provider's sources (${patterns}) ${
          atShutdown ? "before it was shut down" : `in its first ${SOURCE_CHECK_DELAY / 1000} s`
        }, so it has recorded nothing; sources seen: ${seen}`,
      ),
      "TracerProvider",
      "debug",
    );
  }
}
