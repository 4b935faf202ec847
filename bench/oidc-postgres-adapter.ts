/**
 * The conventional PostgreSQL adapter production deployments of oidc-provider use (Logto's
 * `oidc_model_instances` pattern), written here as the fair yardstick for the token benchmark:
 * one table keyed by model name and id, a JSONB payload, `expires_at`, `consumed_at`; upsert with
 * INSERT ... ON CONFLICT, find, consume as an UPDATE, destroy, and revokeByGrantId by
 * `payload->>'grantId'`. With it oidc-provider stores what it stores by default: opaque access
 * tokens, codes, sessions, grants and the client assertions' jti for replay detection.
 */
import pg from "pg";

const schema = `
CREATE TABLE IF NOT EXISTS oidc_model_instances (
  model_name varchar(64) NOT NULL,
  id varchar(128) NOT NULL,
  payload jsonb NOT NULL,
  expires_at timestamptz NOT NULL,
  consumed_at timestamptz,
  PRIMARY KEY (model_name, id)
);
CREATE INDEX IF NOT EXISTS oidc_model_instances_grant_id
  ON oidc_model_instances (model_name, (payload->>'grantId'));
CREATE INDEX IF NOT EXISTS oidc_model_instances_uid
  ON oidc_model_instances (model_name, (payload->>'uid'));
`;

type Payload = Record<string, unknown>;

export async function postgresAdapter(databaseUrl: string, poolSize: number) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  await pool.query(schema);

  const findBy = async (modelName: string, where: string, value: string) => {
    const { rows } = await pool.query<{ payload: Payload; consumed_at: Date | null }>(
      `SELECT payload, consumed_at FROM oidc_model_instances
        WHERE model_name = $1 AND ${where} = $2 AND expires_at > now()`,
      [modelName, value],
    );
    const row = rows[0];
    if (!row) return undefined;
    return row.consumed_at ? { ...row.payload, consumed: true } : row.payload;
  };

  class Adapter {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }
    async upsert(id: string, payload: Payload, expiresIn: number) {
      await pool.query(
        `INSERT INTO oidc_model_instances (model_name, id, payload, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))
         ON CONFLICT (model_name, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at`,
        [this.name, id, payload, expiresIn],
      );
    }
    find(id: string) {
      return findBy(this.name, "id", id);
    }
    findByUid(uid: string) {
      return findBy(this.name, "payload->>'uid'", uid);
    }
    findByUserCode(userCode: string) {
      return findBy(this.name, "payload->>'userCode'", userCode);
    }
    async consume(id: string) {
      await pool.query(
        "UPDATE oidc_model_instances SET consumed_at = now() WHERE model_name = $1 AND id = $2",
        [this.name, id],
      );
    }
    async destroy(id: string) {
      await pool.query("DELETE FROM oidc_model_instances WHERE model_name = $1 AND id = $2", [this.name, id]);
    }
    async revokeByGrantId(grantId: string) {
      await pool.query(
        "DELETE FROM oidc_model_instances WHERE model_name = $1 AND payload->>'grantId' = $2",
        [this.name, grantId],
      );
    }
  }
  return { Adapter, close: () => pool.end() };
}
