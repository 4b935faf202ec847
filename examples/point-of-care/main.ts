import { startPointOfCare } from "./app.ts";
import { settingsFromEnvironment } from "./settings.ts";

/**
 * The demo point-of-care app, a CIS2 relying party: `npm run example`, then open
 * http://localhost:3001/ (with `npm start` running the Care Identity Service in another terminal).
 */
const settings = settingsFromEnvironment();
const pointOfCare = await startPointOfCare(settings);
console.log(
  [
    "",
    `Point of care (demo relying party) is running on ${pointOfCare.url}/`,
    `  CIS2 issuer   ${settings.issuer}`,
    `  Client        ${settings.clientId}, acr_values ${settings.acrValues}`,
    "Press Ctrl+C to stop.",
    "",
  ].join("\n"),
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void pointOfCare.close().then(() => process.exit(0));
  });
}
