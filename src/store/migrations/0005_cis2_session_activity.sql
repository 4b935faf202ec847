-- When each CIS2 session was last used, for the idle limits of NIST SP 800-63B: an AAL3 session
-- ends after 15 minutes without use, an AAL2 (or development AAL1) session after 30.
CREATE TABLE cis2_session_activity (
  session_uid text PRIMARY KEY,
  last_used_at timestamptz NOT NULL
);
