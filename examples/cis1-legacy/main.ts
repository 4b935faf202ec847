import { Cis1Failure, describeRoles, getTicket, roleAssertion } from "./roles.ts";

/**
 * The example legacy (CIS1) application: `npm run example:cis1`, with the service (`npm start`)
 * and the smartcard agent (`careid agent --service URL`) running. It gets a ticket from the agent
 * (signing in with the card if needed), fetches the role assertion and prints the roles.
 * CAREID_AGENT_URL and CAREID_SERVICE_URL say where they are.
 */
const agentUrl = process.env.CAREID_AGENT_URL ?? "http://127.0.0.1:8765";
const serviceUrl = process.env.CAREID_SERVICE_URL ?? "http://127.0.0.1:3000";
const call = process.argv.includes("--no-auth") ? "getTicketNoAuth" : "getTicket";
try {
  const ticket = await getTicket(agentUrl, call);
  const { user } = await roleAssertion(serviceUrl, ticket);
  console.log(describeRoles(user));
} catch (error) {
  if (!(error instanceof Cis1Failure)) throw error;
  console.error(`No roles: ${error.message}`);
  process.exitCode = 1;
}
