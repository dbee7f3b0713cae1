// Writing to standard output in one piece, whatever the runtime: Deno.stdout (looping over
// partial writes), else process.stdout (Node, Bun), else console.log.

const encoder = new TextEncoder();

/** Writes text to standard output in one piece. */
export function writeStdout(text: string): void {
  const deno = (globalThis as {
    Deno?: { stdout?: { writeSync(bytes: Uint8Array): number } };
  }).Deno;
  if (deno?.stdout !== undefined) {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(deno.stdout.writeSync(bytes));
    return;
  }
  const proc = (globalThis as { process?: { stdout?: { write(text: string): unknown } } }).process;
  if (proc?.stdout !== undefined) {
    proc.stdout.write(text);
    return;
  }
  console.log(text.endsWith("\n") ? text.slice(0, -1) : text);
}
