import { operatorActor } from "../audit/actor.ts";
import { type Prepare, storeCommand, type WithStore } from "../store-command.ts";
import { deleteDuePhotos } from "./review.ts";

/** Apply for Care ID's command: the photos due for deletion, deleted now. */
export function applyCommands(withStore: WithStore, prepare: Prepare) {
  const command = storeCommand(withStore, prepare);
  return {
    "apply delete-photos": command(
      "apply delete-photos",
      "careid apply delete-photos",
      "Delete now the Apply for Care ID photos due for deletion (serve does this hourly); the decisions and check results stay.",
      {},
      async (store) => {
        const deleted = await deleteDuePhotos(store.db, operatorActor());
        console.log(`Deleted the photos of ${deleted} application${deleted === 1 ? "" : "s"}.`);
        return 0;
      },
    ),
  };
}
