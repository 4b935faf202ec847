/** Seconds. CIS2 access tokens last about an hour; sessions follow NIST 800-63B's 12 hours. */
export const lifetimes = {
  accessToken: 3600,
  authorizationCode: 60,
  idToken: 3600,
  interaction: 900,
  session: 12 * 3600,
  grant: 12 * 3600,
  refreshToken: 8 * 3600,
  idleByAal: { 3: 15 * 60, 2: 30 * 60, 1: 30 * 60 } as Record<number, number>,
};
