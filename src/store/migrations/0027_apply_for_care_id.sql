-- Apply for Care ID (src/apply/): an RA invites an applicant by email; the applicant proves who
-- they are online through the link; a central ID checker reviews and approves (a verified
-- profile is made by the same createProfile CIM uses) or rejects with a reason.
--
-- The link's token is never stored, only its SHA-256 digest. The browser that first opens a link
-- holds a cookie whose digest is kept too, so a copied link alone does not reach someone's
-- details once they have started. The SMS code is kept as a digest with its tries counted.
CREATE TABLE apply_invitations (
  id text PRIMARY KEY,
  token_digest text NOT NULL UNIQUE,
  ods_code text NOT NULL REFERENCES organisations (ods_code),
  invited_by text NOT NULL REFERENCES people (uuid),
  invited_role_id text,
  given_name text NOT NULL,
  family_name text NOT NULL,
  email text NOT NULL,
  status text NOT NULL DEFAULT 'invited' CHECK (status IN
    ('invited', 'started', 'referred', 'submitted', 'approved', 'rejected', 'withdrawn')),
  expires_at timestamptz NOT NULL,
  times_sent integer NOT NULL DEFAULT 1,
  browser_digest text,
  -- What the applicant typed: names, date of birth, NI number, mobile.
  details jsonb NOT NULL DEFAULT '{}',
  mobile_confirmed_at timestamptz,
  sms_code_digest text,
  sms_code_expires_at timestamptz,
  sms_code_tries integer NOT NULL DEFAULT 0,
  sms_codes_sent integer NOT NULL DEFAULT 0,
  referral text CHECK (referral IN ('duplicate', 'no-ni-number')),
  evidence_route text CHECK (evidence_route IN ('two-documents', 'proof-of-address')),
  checks jsonb NOT NULL DEFAULT '[]',
  submitted_at timestamptz,
  claimed_by text,
  claimed_until timestamptz,
  decided_by text,
  decided_role_id text,
  decision_reason text,
  decided_at timestamptz,
  profile_uuid text REFERENCES people (uuid),
  photos_delete_after timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  version integer NOT NULL DEFAULT 1
);
CREATE INDEX apply_invitations_queue ON apply_invitations (submitted_at) WHERE status = 'submitted';
CREATE INDEX apply_invitations_inviter ON apply_invitations (invited_by, created_at);
CREATE INDEX apply_invitations_photo_deletion ON apply_invitations (photos_delete_after)
  WHERE photos_delete_after IS NOT NULL;

-- Each photo sealed by its own data key (AES-256-GCM), the data key sealed under the master key.
CREATE TABLE apply_documents (
  invitation_id text NOT NULL REFERENCES apply_invitations (id),
  slot text NOT NULL CHECK (slot IN ('photo-id', 'second-document', 'face')),
  kind text NOT NULL,
  reference text,
  machine_readable_zone text,
  expires_on date,
  media_type text NOT NULL,
  byte_size integer NOT NULL,
  width integer NOT NULL,
  height integer NOT NULL,
  sealed_key text,
  ciphertext text,
  checks jsonb NOT NULL DEFAULT '[]',
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  PRIMARY KEY (invitation_id, slot)
);
