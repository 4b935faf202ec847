import type { ColumnType, Generated } from "kysely";

/**
 * The tables as Kysely sees them; the SQL in migrations/ is the source of truth. Over 400 lines
 * because Kysely's Database type lists every table in one place, as the migrations make them.
 */
export type Database = {
  staff_groups: { code: string; name: string; demo: boolean };
  sub_groups: { code: string; staff_group_code: string; name: string; demo: boolean };
  job_roles: { code: string; name: string; staff_group_code: string; sub_group_code: string };
  activities: { code: string; name: string; demo: boolean };
  activity_inclusions: { activity_code: string; included_code: string };
  baseline_activities: { job_role_code: string; activity_code: string };
  areas_of_work: { code: string; names: string[]; demo: boolean };
  organisations: OrganisationsTable;
  workgroups: {
    id: string;
    ods_code: string;
    name: string;
    description: Generated<string>;
    position_definition_ids: Generated<string[]>;
    updated_at: Generated<Date>;
  };
  organisation_roles: {
    ods_code: string;
    role_code: string;
    is_primary: boolean;
    start_date: string | null;
    end_date: string | null;
    active: boolean;
  };
  organisation_relationships: {
    ods_code: string;
    relationship_code: string;
    target_ods_code: string;
    target_role_code: string | null;
    start_date: string | null;
    end_date: string | null;
    active: boolean;
  };
  organisation_successors: {
    ods_code: string;
    kind: "Successor" | "Predecessor";
    target_ods_code: string;
    start_date: string | null;
  };
  people: PeopleTable;
  professional_registrations: { uuid: string; body: string; number: string };
  person_organisations: {
    person_orgid: string;
    uuid: string;
    ods_code: string;
    created_at: Generated<Date>;
  };
  positions: PositionsTable;
  audit_events: AuditEventsTable;
  audit_head: { singleton: Generated<boolean>; seq: number; hash: string };
  oidc_models: {
    kind: string;
    id: string;
    payload: ColumnType<Record<string, unknown>, string, string>;
    grant_id: string | null;
    user_code: string | null;
    uid: string | null;
    expires_at: Date | null;
    consumed_at: Date | null;
  };
  oidc_clients: {
    client_id: string;
    metadata: ColumnType<Record<string, unknown>, string, string>;
    sealed_secret: string | null;
    default_acr: string | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
    /** Set for relying parties registered by their supplier (pages or DCR). */
    organisation_code: Generated<string | null>;
    environment: Generated<"development" | "production" | null>;
    registered_by: Generated<string | null>;
    approved_by: Generated<string | null>;
    awaiting_approval: Generated<boolean>;
  };
  sandbox_entries: {
    kind: "persona" | "client";
    key: string;
    /** The persona's profile; null for a client. */
    uuid: string | null;
    created_at: Generated<Date>;
  };
  client_registration_tokens: {
    token_id: string;
    organisation_code: string;
    environment: "development" | "production";
    issued_by: string;
    expires_at: Date;
    created_at: Generated<Date>;
  };
  signing_keys: {
    kid: string;
    alg: string;
    public_jwk: ColumnType<Record<string, unknown>, string, string>;
    sealed_private_jwk: string;
    created_at: Generated<Date>;
    signs_from: Date;
    retired_at: Date | null;
    published_until: Date | null;
  };
  cis2_role_selections: {
    session_uid: string;
    uuid: string;
    role_profile_id: string;
    selected_at: Generated<Date>;
  };
  passwords: { uuid: string; hash: string; updated_at: Generated<Date>; reset_required: Generated<boolean> };
  cis2_session_activity: { session_uid: string; last_used_at: Date };
  smartcard_presence: {
    removal_digest: string;
    card_serial: string;
    holder: string;
    reported_at: Generated<Date>;
  };
  smartcard_tls_tickets: {
    ticket_digest: string;
    interaction_uid: string;
    holder: string;
    card_serial: string;
    expires_at: Date;
    used_at: Date | null;
  };
  backchannel_deliveries: {
    id: Generated<number>;
    client_id: string;
    uuid: string;
    sid: string;
    attempts: Generated<number>;
    next_attempt_at: Generated<Date>;
    last_error: string | null;
    delivered_at: Date | null;
    created_at: Generated<Date>;
  };
  reference_data_versions: { name: string; digest: string; loaded_at: Generated<Date> };
  schema_migrations: { name: string; applied_at: Generated<Date> };
  accredited_systems: AccreditedSystemsTable;
  messaging_endpoints: MessagingEndpointsTable;
  api_applications: ApiApplicationsTable;
  enrolment_links: EnrolmentLinksTable;
  totp_authenticators: TotpAuthenticatorsTable;
  webauthn_credentials: WebauthnCredentialsTable;
  pki_authorities: {
    name: "root" | "issuing";
    certificate: Uint8Array;
    sealed_private_key: string;
    created_at: Generated<Date>;
  };
  pki_certificates: PkiCertificatesTable;
  remote_signing_keys: RemoteSigningKeysTable;
  signature_requests: SignatureRequestsTable;
  pki_revocations: { serial: string; revoked_at: Date; reason: RevocationReason };
  smartcards: SmartcardsTable;
  smartcard_orders: SmartcardOrdersTable;
  smartcard_challenges: { challenge: string; expires_at: Date; used_at: Date | null };
  position_definitions: PositionDefinitionsTable;
  sponsor_assignable_positions: {
    position_definition_id: string;
    sponsor_uuid: string;
    created_at: Generated<Date>;
  };
  registration_requests: RegistrationRequestsTable;
  registration_submissions: {
    submission_id: string;
    actor_uuid: string;
    action: string;
    created_at: Generated<Date>;
  };
  first_party_sessions: FirstPartySessionsTable;
  sign_in_throttles: { key: string; window_start: Date; count: number; last_attempt_at: Date };
  api_rate_limits: { key: string; window_start: Date; count: number };
  cis1_sessions: Cis1SessionsTable;
  cis1_signing_keys: {
    name: "role-assertion";
    certificate_serial: string;
    sealed_private_key: string;
    created_at: Generated<Date>;
  };
  message_outbox: MessageOutboxTable;
  smartcard_self_unlocks: SmartcardSelfUnlocksTable;
  upstream_providers: UpstreamProvidersTable;
  upstream_links: UpstreamLinksTable;
  password_resets: PasswordResetsTable;
  apply_invitations: ApplyInvitationsTable;
  apply_documents: ApplyDocumentsTable;
};

export type UpstreamProvidersTable = {
  id: string;
  display_name: string;
  issuer: string;
  client_id: string;
  auth_method: "client_secret_post" | "client_secret_basic" | "private_key_jwt";
  /** The client secret, or the private JWK for private_key_jwt, sealed under the master key. */
  sealed_credential: string;
  scopes: string;
  identifying_claim: string;
  tenant_id: string | null;
  allowed_domains: ColumnType<string[], string, string>;
  created_at: Generated<Date>;
};

export type UpstreamLinksTable = {
  provider_id: string;
  subject: string;
  uuid: string;
  email: string | null;
  status: Generated<"active" | "disabled">;
  created_at: Generated<Date>;
  last_used_at: Date | null;
  upstream_sub: string | null;
  last_sid: string | null;
};

export type PasswordResetsTable = {
  token_digest: string;
  uuid: string;
  message_id: string;
  code_digest: string;
  expires_at: Date;
  wrong_tries: Generated<number>;
  completed_at: Date | null;
  created_at: Generated<Date>;
};

export type ApplyInvitationStatus =
  | "invited"
  | "started"
  | "referred"
  | "submitted"
  | "approved"
  | "rejected"
  | "withdrawn";

export type ApplyInvitationsTable = {
  id: string;
  token_digest: string;
  ods_code: string;
  invited_by: string;
  invited_role_id: string | null;
  given_name: string;
  family_name: string;
  email: string;
  status: ColumnType<ApplyInvitationStatus, ApplyInvitationStatus | undefined, ApplyInvitationStatus>;
  expires_at: Date;
  times_sent: Generated<number>;
  browser_digest: string | null;
  details: ColumnType<Record<string, string | null>, string | undefined, string>;
  mobile_confirmed_at: Date | null;
  sms_code_digest: string | null;
  sms_code_expires_at: Date | null;
  sms_code_tries: Generated<number>;
  sms_codes_sent: Generated<number>;
  referral: "duplicate" | "no-ni-number" | null;
  evidence_route: "two-documents" | "proof-of-address" | null;
  checks: ColumnType<Record<string, unknown>[], string | undefined, string>;
  submitted_at: Date | null;
  claimed_by: string | null;
  claimed_until: Date | null;
  decided_by: string | null;
  decided_role_id: string | null;
  decision_reason: string | null;
  decided_at: Date | null;
  profile_uuid: string | null;
  photos_delete_after: Date | null;
  created_at: Generated<Date>;
  version: Generated<number>;
};

export type ApplyDocumentsTable = {
  invitation_id: string;
  slot: "photo-id" | "second-document" | "face";
  kind: string;
  reference: string | null;
  machine_readable_zone: string | null;
  expires_on: IsoDate | null;
  media_type: string;
  byte_size: number;
  width: number;
  height: number;
  /** The photo's own data key, sealed under the master key; null once deleted. */
  sealed_key: string | null;
  /** The photo under its data key (AES-256-GCM), base64url; null once deleted. */
  ciphertext: string | null;
  checks: ColumnType<Record<string, unknown>[], string | undefined, string>;
  uploaded_at: Generated<Date>;
  deleted_at: Date | null;
};

export type MessageOutboxTable = {
  id: string;
  channel: "email" | "sms";
  template: string;
  /** Recipient and personalisation, sealed under the master key (one-time codes among them). */
  sealed_content: string;
  masked_recipient: string;
  status: Generated<"queued" | "sent" | "failed">;
  attempts: Generated<number>;
  next_attempt_at: Date;
  claimed_until: Date | null;
  last_error: string | null;
  provider_reference: string | null;
  created_at: Generated<Date>;
  sent_at: Date | null;
};

export type SmartcardSelfUnlocksTable = {
  token_digest: string;
  card_serial: string;
  holder: string;
  channel: "email" | "sms";
  message_id: string;
  code_digest: string;
  expires_at: Date;
  wrong_tries: Generated<number>;
  verified_at: Date | null;
  ticket_digest: string | null;
  ticket_expires_at: Date | null;
  releases: Generated<number>;
  completed_at: Date | null;
  created_at: Generated<Date>;
};

/** Dates without time are exchanged as ISO strings (YYYY-MM-DD) on both drivers. */
type IsoDate = string;

export type OrganisationsTable = {
  ods_code: string;
  name: string;
  type_code: string;
  type_name: string;
  status: "active" | "inactive";
  parent_ods_code: string | null;
  address_lines: string[];
  city: string | null;
  postcode: string | null;
  created_at: Generated<Date>;
  open_date: ColumnType<string | null, string | null | undefined, string | null>;
  close_date: ColumnType<string | null, string | null | undefined, string | null>;
  telephone: ColumnType<string | null, string | null | undefined, string | null>;
  last_change_date: ColumnType<string | null, string | null | undefined, string | null>;
  source: ColumnType<"ods" | "local", "ods" | "local" | undefined, "ods" | "local">;
  record_digest: ColumnType<string | null, string | null | undefined, string | null>;
  updated_at: Generated<Date>;
};

export type PeopleTable = {
  uuid: string;
  title: string | null;
  given_name: string;
  middle_names: string | null;
  family_name: string;
  date_of_birth: IsoDate | null;
  ni_number: string | null;
  email: string | null;
  mobile: string | null;
  identity_assurance_level: number;
  identity_evidence: ColumnType<Record<string, unknown>, string, string>;
  status: "active" | "suspended" | "closed";
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  registering_ods_code: string | null;
  closed_at: Date | null;
};

export type PositionsTable = {
  role_profile_id: string;
  person_orgid: string;
  uuid: string;
  ods_code: string;
  job_role_code: string;
  added_activity_codes: string[];
  workgroup_ids: string[];
  area_of_work_codes: string[];
  start_date: IsoDate;
  end_date: IsoDate | null;
  status: "active" | "ended";
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  position_definition_id: string | null;
  assignment_id: string | null;
};

export type AuditEventsTable = {
  seq: number;
  at: Date;
  actor_kind: string;
  actor_id: string | null;
  actor_role_id: string | null;
  action: string;
  subject_type: string | null;
  subject_id: string | null;
  before: ColumnType<unknown, string | null, never>;
  after: ColumnType<unknown, string | null, never>;
  reason: string | null;
  source: string;
  correlation_id: string | null;
  previous_hash: string;
  /** 1: hash is a plain SHA-256 (events written before the chain was keyed); 2: an HMAC. */
  chain_version: number;
  hash: string;
};

export type AccreditedSystemsTable = {
  asid: string;
  ods_code: string;
  manufacturer_ods_code: string;
  product_key: string;
  product_name: string;
  product_version: string | null;
  party_key: string;
  interactions: string[];
  created_at: Generated<Date>;
};

export type MessagingEndpointsTable = {
  id: string;
  ods_code: string;
  party_key: string;
  interaction: string;
  cpa_id: string;
  fqdn: string;
  endpoint_url: string;
  sync_reply_mode: string;
  retry_interval: string;
  retries: number;
  persist_duration: string;
  duplicate_elimination: string;
  ack_requested: string;
  actor: string;
  is_authenticated: boolean;
  created_at: Generated<Date>;
};

export type ApiApplicationsTable = {
  id: string;
  name: string;
  key_digest: string;
  key_prefix: string;
  admin: boolean;
  rate_limit_per_minute: number;
  status: "active" | "revoked";
  created_at: Generated<Date>;
  revoked_at: Date | null;
};

export type EnrolmentLinksTable = {
  token_digest: string;
  uuid: string;
  expires_at: Date;
  used_at: Date | null;
  pending_totp_secret: string | null;
  pending_challenge: string | null;
  created_at: Generated<Date>;
};

export type TotpAuthenticatorsTable = {
  uuid: string;
  sealed_secret: string;
  last_used_step: number;
  failed_attempts: Generated<number>;
  locked_until: Date | null;
  created_at: Generated<Date>;
  last_used_at: Date | null;
};

export type WebauthnCredentialsTable = {
  credential_id: string;
  uuid: string;
  method: string;
  public_key: string;
  counter: number;
  transports: Generated<string[]>;
  aaguid: string;
  device_type: string;
  backed_up: boolean;
  kind: string;
  attestation: Generated<string>;
  attestation_format: Generated<string>;
  name: string;
  created_at: Generated<Date>;
  last_used_at: Date | null;
};

export type CertificateProfile =
  | "card-authentication"
  | "card-signing"
  | "ocsp-responder"
  | "assertion-signing"
  | "remote-signing";
export type RevocationReason =
  | "unspecified"
  | "keyCompromise"
  | "affiliationChanged"
  | "superseded"
  | "cessationOfOperation";

export type PkiCertificatesTable = {
  serial: string;
  profile: CertificateProfile;
  holder: string | null;
  card_serial: string | null;
  certificate: Uint8Array;
  not_before: Date;
  not_after: Date;
  created_at: Generated<Date>;
};

export type RemoteSigningKeysTable = {
  id: Generated<string>;
  holder: string;
  certificate_serial: string;
  /** Sealed PKCS#8 PEM, or null when the key is held in a PKCS#11 token. */
  sealed_private_key: string | null;
  /** The key's CKA_LABEL in the signing token (CAREID_SIGNING_PKCS11_*), or null when sealed. */
  token_key_label: string | null;
  created_at: Generated<Date>;
  revoked_at: Date | null;
};

export type SignatureRequestItem = { id: string; payload: string };
export type SignatureRequestsTable = {
  token_hash: string;
  request_hash: string;
  client_id: string;
  holder: string;
  items: ColumnType<SignatureRequestItem[], string, string>;
  status: "pending" | "signed" | "collected";
  challenge: string | null;
  signatures: ColumnType<Array<{ id: string; signature: string }> | null, string | null, string | null>;
  certificate_serial: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
  signed_at: Date | null;
  collected_at: Date | null;
};

export type SmartcardStatus = "active" | "locked" | "cancelled" | "lost" | "stolen" | "expired" | "cleared";

export type SmartcardsTable = {
  serial: string;
  holder: string;
  card_type: string | null;
  status: SmartcardStatus;
  sealed_unlock_code: string;
  issued_at: Generated<Date>;
  status_changed_at: Generated<Date>;
  /** DER SubjectPublicKeyInfo of the key the card signs with without its passcode (lock reports). */
  presence_key: ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>;
};

export type SmartcardOrdersTable = {
  code_digest: string;
  kind: "issue" | "renew" | "unlock" | "repair" | "clear";
  holder: string;
  card_serial: string | null;
  authorised_by: string;
  authorised_role: string | null;
  expires_at: Date;
  used_at: Date | null;
  /** Releases of the card's unlock code under a repair or clear order not yet spent. */
  releases: Generated<number>;
  created_at: Generated<Date>;
};

export type FirstPartySessionsTable = {
  token_digest: string;
  app: string;
  uuid: string;
  method: string | null;
  cis2_sid: string | null;
  sealed_id_token: string;
  sealed_form_secret: string;
  pending_challenge: string | null;
  created_at: Generated<Date>;
  last_used_at: Generated<Date>;
};

export type PositionDefinitionsTable = {
  id: string;
  ods_code: string;
  name: string;
  access_profiles: ColumnType<AccessProfileRow[], string, string>;
  status: Generated<"active" | "retired">;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
};

/** One access profile of a position definition, as stored. */
export type AccessProfileRow = {
  jobRole: string;
  activities: string[];
  workgroups: string[];
  areasOfWork: string[];
};

export type RegistrationRequestsTable = {
  id: string;
  action: string;
  ods_code: string;
  subject_uuid: string;
  position_definition_id: string | null;
  details: ColumnType<Record<string, unknown>, string, string>;
  source: "CIM" | "APPLY" | "ESR";
  status: Generated<"open" | "completed" | "rejected">;
  requested_by: string | null;
  requested_role_id: string | null;
  reason: string | null;
  notes: string | null;
  locked_by: string | null;
  locked_until: Date | null;
  decided_by: string | null;
  decided_role_id: string | null;
  decision_reason: string | null;
  decided_at: Date | null;
  version: Generated<number>;
  created_at: Generated<Date>;
};

export type Cis1SessionsTable = {
  token_digest: string;
  holder: string;
  card_serial: string;
  role_profile_id: string | null;
  role_required: boolean;
  created_at: Generated<Date>;
  last_used_at: Generated<Date>;
  expires_at: Date;
};
