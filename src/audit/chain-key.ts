import { hkdfSync } from "node:crypto";
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from "kysely";
import type { Queryable, Store } from "../store/database.ts";

/**
 * The key of the audit chain's HMACs, derived from the master key under its own label, so it is
 * shared by every node of a cluster and never stored, and so a leak of one derived secret (a
 * client secret, the cookie key) gives nothing towards it.
 */
export function auditChainKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", masterKey, "careid", "audit-chain-mac", 32));
}

/**
 * Carries the audit key with a database handle. Every state change records its event through
 * the transaction it already holds (recordEvent(tx, ...)), so the key travels the way the
 * transaction does: as a Kysely plugin, which each transaction of the handle inherits. It leaves
 * every query and result untouched.
 */
class AuditKeyCarrier implements KyselyPlugin {
  readonly key: Buffer;
  constructor(key: Buffer) {
    this.key = key;
  }
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** The store with its handle carrying the audit key derived from this master key. */
export function withAuditKey(store: Store, masterKey: Buffer): Store {
  return { ...store, db: store.db.withPlugin(new AuditKeyCarrier(auditChainKey(masterKey))) };
}

/** The audit key a handle or transaction carries, if its store was opened with one. */
function auditKeyOf(queryable: Queryable): Buffer | undefined {
  // getExecutor() is how Kysely itself reaches a handle's plugins; a transaction's executor
  // keeps the plugins of the handle that began it. The key added last wins.
  const carrier = queryable
    .getExecutor()
    .plugins.findLast((plugin): plugin is AuditKeyCarrier => plugin instanceof AuditKeyCarrier);
  return carrier?.key;
}

export function requireAuditKey(queryable: Queryable): Buffer {
  const key = auditKeyOf(queryable);
  if (!key)
    throw new Error(
      "the audit log is keyed: open the store with withAuditKey(store, masterKey) before recording or verifying events",
    );
  return key;
}
