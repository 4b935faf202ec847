/**
 * The yardsticks for bench/cis2-token.ts: a bare oidc-provider (the version the service uses), one
 * static client, an RS256 2048 signing key and nothing else, served by a plain
 * `http.createServer(provider.callback())`, storing either in memory (its own adapter) or in
 * PostgreSQL through the conventional adapter (bench/oidc-postgres-adapter.ts) when
 * BENCH_PEER_DATABASE_URL is set. Before it listens it mints the codes the benchmark will
 * exchange and writes them to --out.
 *
 *   BENCH_CLIENT_JWK='{...}' [BENCH_PEER_DATABASE_URL=postgres://...] \
 *     node bench/cis2-bare-provider.ts --port 3922 --codes 22000 --out codes.json
 *
 * The only departure from the defaults: the in-memory adapter's store holds 1,000 entries, far
 * fewer than the codes minted ahead of a run, so the same adapter class gets a larger store.
 */
import { writeFileSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider from "oidc-provider";
import { benchClientMetadata, mintCodes } from "./cis2-support.ts";
import { postgresAdapter } from "./oidc-postgres-adapter.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "3922" },
    codes: { type: "string", default: "0" },
    out: { type: "string" },
  },
});
const clientJwk = JSON.parse(process.env.BENCH_CLIENT_JWK ?? "null") as JWK | null;
if (!clientJwk || !values.out) throw new Error("Set BENCH_CLIENT_JWK and --out");

type AdapterModule = {
  default: new (model: string, store: unknown, clockTolerance: number) => unknown;
};
const memoryAdapterPath = "oidc-provider/lib/adapters/memory_adapter.js";
const lruPath = "oidc-provider/lib/helpers/lru.js";
async function memoryAdapter() {
  const { default: MemoryAdapter } = (await import(memoryAdapterPath)) as AdapterModule;
  const { default: LRU } = (await import(lruPath)) as {
    default: new (options: { maxSize: number }) => unknown;
  };
  const store = new LRU({ maxSize: 10_000_000 });
  return (model: string) => new MemoryAdapter(model, store, 0);
}

const peerDatabase = process.env.BENCH_PEER_DATABASE_URL;
// The service's pool holds 8 connections in this benchmark; the peer gets as many.
const adapter = peerDatabase ? (await postgresAdapter(peerDatabase, 8)).Adapter : await memoryAdapter();

const { privateKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: "bare-1", alg: "RS256", use: "sig" };
const issuer = `http://127.0.0.1:${values.port}`;
const provider = new Provider(issuer, {
  adapter: adapter as never,
  clients: [benchClientMetadata(clientJwk) as never],
  jwks: { keys: [signingKey] },
  scopes: ["openid", "profile", "nationalrbacaccess", "selectedrole"],
  claims: {
    openid: ["sub"],
    selectedrole: ["selected_roleid"],
    acr: null,
    amr: null,
    auth_time: null,
    sid: null,
  },
  features: { devInteractions: { enabled: false } },
});
const accounts = Array.from({ length: 20 }, (_, index) => ({ uuid: String(555000000010 + index) }));
const codes = await mintCodes(provider, accounts, Number(values.codes));
writeFileSync(values.out, JSON.stringify(codes));
http.createServer(provider.callback()).listen(Number(values.port), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
