// A trace as a parent/child tree, built from the activities a graph holds of it: children by
// start time, then arrival; activities whose parent the graph does not hold are roots.

import type { TraceNode, TraceTree } from "./snapshot.ts";
import type { Entry } from "./_store.ts";

/** The tree of a trace's activities. */
export function buildTree(traceId: string, entries: readonly Entry[]): TraceTree {
  const bySpan = new Map<string, { entry: Entry; children: Entry[] }>();
  for (const entry of entries) bySpan.set(entry.snapshot.spanId, { entry, children: [] });
  const roots: Entry[] = [];
  for (const entry of entries) {
    const parentId = entry.snapshot.parentSpanId;
    const parent = parentId === undefined || parentId === entry.snapshot.spanId
      ? undefined
      : bySpan.get(parentId);
    if (parent === undefined) roots.push(entry);
    else parent.children.push(entry);
  }
  // Iterative build, so that a deep trace cannot overflow the stack; `seen` guards against
  // parent cycles in snapshots given by hand.
  const seen = new Set<Entry>();
  const build = (top: Entry): TraceNode => {
    const rootNode = { activity: top.snapshot, children: [] as TraceNode[] };
    const stack = [{ entry: top, node: rootNode }];
    seen.add(top);
    while (stack.length > 0) {
      const { entry, node } = stack.pop()!;
      for (const child of bySpan.get(entry.snapshot.spanId)!.children.sort(byStart)) {
        if (seen.has(child)) continue;
        seen.add(child);
        const childNode = { activity: child.snapshot, children: [] as TraceNode[] };
        node.children.push(childNode);
        stack.push({ entry: child, node: childNode });
      }
    }
    return rootNode;
  };
  const rootNodes = roots.sort(byStart).map(build);
  // Activities caught in a parent cycle (only possible with hand-made snapshots) become roots.
  for (const entry of [...entries].sort(byStart)) {
    if (!seen.has(entry)) rootNodes.push(build(entry));
  }
  return Object.freeze({ traceId, roots: rootNodes, size: entries.length });
}

/** By start time, then arrival. */
function byStart(a: Entry, b: Entry): number {
  const sa = a.snapshot.startTimeUnixNano;
  const sb = b.snapshot.startTimeUnixNano;
  return sa < sb ? -1 : sa > sb ? 1 : a.seq - b.seq;
}
