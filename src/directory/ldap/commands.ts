import { createWriteStream } from "node:fs";
import { operatorActor } from "../../audit/actor.ts";
import { readCodeLists } from "../../rbac/code-lists.ts";
import { type Prepare, requiredOption, storeCommand, type WithStore } from "../../store-command.ts";
import { addAccount, listAccounts, removeAccount } from "./accounts.ts";
import { exportLdif } from "./ldif.ts";
import { makeTree } from "./tree.ts";

/** The LDAP directory's commands: its service accounts, and the tree written out as LDIF. */
export function ldapCommands(withStore: WithStore, prepare: Prepare) {
  const command = storeCommand(withStore, prepare);
  return {
    "ldap accounts add": command(
      "ldap accounts add",
      "careid ldap accounts add --name NAME [--description TEXT]",
      "Create an LDAP service account; prints its bind DN and password (shown once, stored as an scrypt hash).",
      {
        name: { type: "string", help: "account name: lower-case letters, digits, dots, hyphens" },
        description: { type: "string", help: "who uses the account" },
      },
      async (store, values) => {
        const name = requiredOption(values, "name");
        const description = typeof values.description === "string" ? values.description : undefined;
        const account = await addAccount(store.db, operatorActor(), { name, description });
        console.log(
          `Bind DN:  ${account.bindDn}\nPassword: ${account.password}\nThe password is not stored and will not be shown again.`,
        );
        return 0;
      },
    ),
    "ldap accounts list": command(
      "ldap accounts list",
      "careid ldap accounts list",
      "List LDAP service accounts and their bind DNs.",
      {},
      async (store) => {
        for (const account of await listAccounts(store.db))
          console.log(`${account.bindDn}\t${account.createdAt.toISOString()}\t${account.description ?? ""}`);
        return 0;
      },
    ),
    "ldap accounts remove": command(
      "ldap accounts remove",
      "careid ldap accounts remove --name NAME",
      "Remove an LDAP service account; its next bind fails.",
      { name: { type: "string", help: "account name" } },
      async (store, values) => {
        const name = requiredOption(values, "name");
        await removeAccount(store.db, operatorActor(), name);
        console.log(`Removed ${name}.`);
        return 0;
      },
    ),
    "directory export-ldif": command(
      "directory export-ldif",
      "careid directory export-ldif [--file tree.ldif]",
      "Write the LDAP tree (o=nhs) as LDIF, to load into OpenLDAP with src/directory/ldap/sds.schema.",
      { file: { type: "string", help: "output file (default: standard output)" } },
      async (store, values) => {
        const output = typeof values.file === "string" ? createWriteStream(values.file) : process.stdout;
        const write = (text: string) =>
          output.write(text)
            ? undefined
            : new Promise<void>((resolve) => output.once("drain", () => resolve()));
        const count = await exportLdif(makeTree(store.db, await readCodeLists(store.db)), write);
        if (output !== process.stdout) await new Promise<void>((resolve) => output.end(() => resolve()));
        console.error(`Exported ${count} entries.`);
        return 0;
      },
    ),
  };
}
