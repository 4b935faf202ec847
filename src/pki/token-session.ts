import pkcs11js from "pkcs11js";

/**
 * A logged-in session on a PKCS#11 token (an HSM in production, SoftHSM2 in tests), found by its
 * label: what the CA's issuing key and the remote signing keys each keep open while the service
 * runs. The module may be loaded by other parts of this process too.
 */
export type TokenSettings = { modulePath: string; tokenLabel: string; pin: string };

export type TokenSession = { pkcs11: pkcs11js.PKCS11; session: pkcs11js.Handle };

export function openTokenSession(settings: TokenSettings): TokenSession {
  const pkcs11 = new pkcs11js.PKCS11();
  pkcs11.load(settings.modulePath);
  try {
    pkcs11.C_Initialize();
  } catch (error) {
    // Another part of this process (the tests' agent, say) initialised the module already.
    if (!String(error).includes("CKR_CRYPTOKI_ALREADY_INITIALIZED")) throw error;
  }
  const slot = pkcs11
    .C_GetSlotList(true)
    .find((candidate) => pkcs11.C_GetTokenInfo(candidate).label.trim() === settings.tokenLabel);
  if (!slot) throw new Error(`No PKCS#11 token labelled "${settings.tokenLabel}" in ${settings.modulePath}`);
  const session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    pkcs11.C_Login(session, pkcs11js.CKU_USER, settings.pin);
  } catch (error) {
    // A login holds for every session this process has open on the token.
    if (!String(error).includes("CKR_USER_ALREADY_LOGGED_IN")) throw error;
  }
  return { pkcs11, session };
}

/** The first object with these attributes, if any. */
export function findTokenObject(
  { pkcs11, session }: TokenSession,
  template: pkcs11js.Template,
): pkcs11js.Handle | undefined {
  pkcs11.C_FindObjectsInit(session, template);
  const found = pkcs11.C_FindObjects(session, 1)[0];
  pkcs11.C_FindObjectsFinal(session);
  return found;
}
