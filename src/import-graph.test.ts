import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * Capability folders import only downward: a folder that imports another must not be imported
 * back, directly or round a longer loop. This reads every import under src/ (tests left out: a
 * test may use any folder to set up its world) and fails naming each cycle between top-level folders. The
 * files directly in src/ count one by one: the entry points (main.ts, server.ts) sit above
 * everything and config.ts, errors.ts below, so each is its own node.
 */
const sourceRoot = dirname(fileURLToPath(import.meta.url));

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** The top-level folder a file belongs to, or the file's own name when it sits in src/ itself. */
function nodeOf(file: string): string {
  const [first, ...rest] = relative(sourceRoot, file).split(sep);
  return rest.length > 0 ? `${first}/` : (first as string);
}

const importPattern =
  /(?:^|[\s;])(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;

export function folderImportGraph(root = sourceRoot): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(root)) {
    const from = nodeOf(file);
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    for (const match of readFileSync(file, "utf8").matchAll(importPattern)) {
      const target = resolve(dirname(file), (match[1] ?? match[2]) as string);
      if (relative(root, target).startsWith("..")) continue;
      const to = nodeOf(target);
      // One file that makes the edge, so a failure says where to look.
      if (to !== from && !edges.has(to)) edges.set(to, relative(root, file));
    }
  }
  return graph;
}

/** Every cycle, each once, found as the strongly connected components of the graph (Tarjan). */
export function folderCycles(graph: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    lowLink.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        lowLink.set(node, Math.min(lowLink.get(node) as number, lowLink.get(next) as number));
      } else if (onStack.has(next))
        lowLink.set(node, Math.min(lowLink.get(node) as number, index.get(next) as number));
    }
    if (lowLink.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components;
}

/** Each pair within a cycle that imports the other, with a file on each side. */
function describe(graph: Map<string, Map<string, string>>, component: string[]): string {
  const edges = component.flatMap((from) =>
    component
      .filter((to) => graph.get(from)?.has(to))
      .map((to) => `${from} -> ${to} (${graph.get(from)?.get(to)})`),
  );
  return `cycle among ${component.join(", ")}:\n    ${edges.join("\n    ")}`;
}

test("no two folders under src/ import each other, directly or round a loop", () => {
  const graph = folderImportGraph();
  const cycles = folderCycles(graph);
  assert.deepEqual(
    cycles.map((component) => describe(graph, component)),
    [],
    "break each cycle by moving the shared part below both folders, or the wiring up into server.ts or src/app/",
  );
});

test("the check finds a cycle it is shown, and a chain is not one", () => {
  const graph = (edges: [string, string][]) => {
    const built = new Map<string, Map<string, string>>();
    for (const [from, to] of edges) {
      built.set(from, (built.get(from) ?? new Map()).set(to, `${from}x.ts`));
      if (!built.has(to)) built.set(to, new Map());
    }
    return built;
  };
  assert.deepEqual(
    folderCycles(
      graph([
        ["cis2/", "web/"],
        ["web/", "seed/"],
        ["seed/", "cis2/"],
        ["store/", "audit/"],
      ]),
    ),
    [["cis2/", "seed/", "web/"]],
  );
  assert.deepEqual(
    folderCycles(
      graph([
        ["server.ts", "cis2/"],
        ["cis2/", "store/"],
        ["server.ts", "store/"],
      ]),
    ),
    [],
  );
});
