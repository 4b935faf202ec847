-- Remote signing keys held in a PKCS#11 token (CAREID_SIGNING_PKCS11_*): the key never leaves
-- the token, so the row names it by its label there instead of holding it sealed. A key is in
-- exactly one of the two places.
ALTER TABLE remote_signing_keys ALTER COLUMN sealed_private_key DROP NOT NULL;
ALTER TABLE remote_signing_keys ADD COLUMN token_key_label text;
ALTER TABLE remote_signing_keys ADD CONSTRAINT remote_signing_keys_one_place
  CHECK ((sealed_private_key IS NULL) <> (token_key_label IS NULL));
