-- Workgroups as RA managers keep them in Care Identity Management: a description, and the
-- position definitions at the workgroup's organisation that may carry it (none listed: any).
ALTER TABLE workgroups
  ADD COLUMN description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  ADD COLUMN position_definition_ids text[] NOT NULL DEFAULT '{}',
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
