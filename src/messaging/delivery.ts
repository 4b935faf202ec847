import type { Config } from "../config.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { senderFromSettings } from "./senders.ts";
import { defaultWorkerSettings, type OutboxWorker, startOutboxWorker } from "./worker.ts";

export type { OutboxWorker };

/** The outbox worker as `serve` (and a test standing in for it) runs it, from the configuration. */
export function startMessageDelivery(
  config: Pick<Config, "messages">,
  db: Db,
  sealer: Sealer,
  log: { error(details: object, message: string): void },
  pollMilliseconds = 1000,
): OutboxWorker {
  return startOutboxWorker({
    db,
    sealer,
    sender: senderFromSettings(config.messages),
    settings: { ...defaultWorkerSettings, maxAttempts: config.messages.maxAttempts },
    pollMilliseconds,
    log: (error) => log.error({ err: error }, "message delivery round failed"),
  });
}
