import { createHash } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { applyPersonasFile, type LoadedPersona, type SyncContext } from "./persona-sync.ts";
import { readPersonasFile, writeExamplePersonas } from "./personas.ts";

/** The personas in force: the last version of the file that applied, and why a later one did not. */
export type PersonaDirectory = {
  path: string;
  personas(): LoadedPersona[];
  /** What is wrong with the file as saved, while the last good version stays in force. */
  problem(): string | undefined;
  /** Applies the file if it changed since it was last read; resolves when it has. */
  refresh(): Promise<void>;
  stop(): void;
};

/**
 * Loads the personas file (writing the examples on first start) and applies it again whenever it
 * is saved, without a restart. fs.watch watches the folder, as editors save by renaming a new
 * file over the old; reloads run one at a time, and a file saved unchanged changes nothing.
 */
export async function watchPersonas(
  path: string,
  context: SyncContext,
  say: (line: string) => void,
): Promise<PersonaDirectory> {
  if (writeExamplePersonas(path)) say(`sandbox: wrote example personas to ${path}; edit it to add your own`);
  let personas: LoadedPersona[] = [];
  let problem: string | undefined;
  let appliedHash: string | undefined;
  let queue = Promise.resolve();

  const load = async () => {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      problem = `cannot read ${path}: ${(error as Error).message}`;
      say(`sandbox: ${problem}`);
      return;
    }
    const hash = createHash("sha256").update(text).digest("hex");
    if (hash === appliedHash) return;
    try {
      const report = await applyPersonasFile(context, readPersonasFile(path));
      personas = report.personas;
      problem = undefined;
      appliedHash = hash;
      for (const change of report.changes) say(`sandbox: ${change}`);
      for (const note of report.notApplied) say(`sandbox: not applied: ${note}`);
      say(`sandbox: applied ${path} (${personas.length} personas)`);
    } catch (error) {
      problem = (error as Error).message;
      appliedHash = undefined;
      say(`sandbox: ${path} was not applied, nothing changed: ${problem}`);
    }
  };
  const refresh = () => {
    queue = queue.then(load);
    return queue;
  };

  await refresh();
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(path), (_event, name) => {
    if (name !== basename(path)) return;
    // An editor's save is several events; the file is read once they settle.
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), 150);
  });
  return {
    path,
    personas: () => personas,
    problem: () => problem,
    refresh,
    stop() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
