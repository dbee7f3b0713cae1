// Reading and writing header-like carriers: `Headers`, `Map`, plain objects (names matched
// without regard to case), or a caller's getter and setter; and the header-text rules that
// `tracestate` and `baggage` share. Nothing here throws: a carrier that fails to answer counts
// as one without the field.

/** Reads one field of a carrier; returns `undefined` when absent. */
export type CarrierGet = (
  carrier: unknown,
  name: string,
) => string | readonly string[] | null | undefined;

/** Writes one field of a carrier. */
export type CarrierSet = (carrier: unknown, name: string, value: string) => void;

/** Reads every value of a field, as the separate header lines it came in. */
export function readField(carrier: unknown, name: string, get?: CarrierGet): string[] {
  const out: string[] = [];
  try {
    if (get !== undefined) {
      push(out, get(carrier, name));
      return out;
    }
    if (carrier === null || typeof carrier !== "object") return out;
    if (typeof Headers === "function" && carrier instanceof Headers) {
      push(out, carrier.get(name));
      return out;
    }
    if (carrier instanceof Map) {
      for (const [key, value] of carrier) {
        if (typeof key === "string" && key.toLowerCase() === name) push(out, value);
      }
      return out;
    }
    for (const key of Object.keys(carrier)) {
      if (key.toLowerCase() === name) push(out, (carrier as Record<string, unknown>)[key]);
    }
  } catch {
    return [];
  }
  return out;
}

function push(out: string[], value: unknown): void {
  if (typeof value === "string") {
    out.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) if (typeof item === "string") out.push(item);
  }
}

/**
 * Writes a field: replaces every case variant of the name with the lowercase name. With a
 * caller's setter, calls it once. Returns whether the write went through.
 */
export function writeField(
  carrier: unknown,
  name: string,
  value: string,
  set?: CarrierSet,
): boolean {
  try {
    if (set !== undefined) {
      set(carrier, name, value);
      return true;
    }
    if (carrier === null || typeof carrier !== "object") return false;
    if (typeof Headers === "function" && carrier instanceof Headers) {
      carrier.set(name, value);
      return true;
    }
    removeField(carrier, name);
    if (carrier instanceof Map) carrier.set(name, value);
    else (carrier as Record<string, unknown>)[name] = value;
    return true;
  } catch {
    return false;
  }
}

/** Removes every case variant of a field from a carrier this module knows how to edit. */
export function removeField(carrier: unknown, name: string): void {
  try {
    if (carrier === null || typeof carrier !== "object") return;
    if (typeof Headers === "function" && carrier instanceof Headers) {
      carrier.delete(name);
      return;
    }
    if (carrier instanceof Map) {
      for (const key of [...carrier.keys()]) {
        if (typeof key === "string" && key.toLowerCase() === name) carrier.delete(key);
      }
      return;
    }
    for (const key of Object.keys(carrier)) {
      if (key.toLowerCase() === name) delete (carrier as Record<string, unknown>)[key];
    }
  } catch {
    // A frozen or hostile carrier: leave it as it is.
  }
}

/** Combines the header lines of one field with commas; `undefined` for anything else. */
export function joinLines(text: string | readonly string[]): string | undefined {
  if (typeof text === "string") return text;
  return Array.isArray(text) ? text.filter((t) => typeof t === "string").join(",") : undefined;
}

/** Removes the optional whitespace (spaces and tabs) around a text. */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === " " || text[start] === "\t")) start++;
  while (end > start && (text[end - 1] === " " || text[end - 1] === "\t")) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}
