import { systemActor } from "../audit/actor.ts";
import type { Db } from "../store/database.ts";
import { deleteDuePhotos } from "./review.ts";

/**
 * Deletes applicants' photos when they fall due, while `serve` runs: once at start, then every
 * `everyMilliseconds`. Each node runs its own timer; deleteDuePhotos locks what it deletes, so
 * nodes running at once share the work instead of repeating it. One round at a time per node.
 */
export type PhotoDeletion = { stop(): Promise<void> };

/** Hourly is ample: the retention period is counted in days. */
export const photoDeletionMilliseconds = 60 * 60 * 1000;

export const photoDeletionActor = systemActor("apply-photo-deletion");

export function startPhotoDeletion(options: {
  db: Db;
  everyMilliseconds?: number;
  log: (error: Error) => void;
}): PhotoDeletion {
  let running: Promise<void> | undefined;
  let stopped = false;
  const round = () => {
    if (stopped || running) return;
    running = deleteDuePhotos(options.db, photoDeletionActor)
      .then(
        () => {},
        (error: Error) => options.log(error),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(round, options.everyMilliseconds ?? photoDeletionMilliseconds);
  timer.unref();
  round();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
