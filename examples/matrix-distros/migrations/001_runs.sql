-- One row per distribution that ran the suite (each test sees only its own database).
CREATE TABLE runs (
  distro text PRIMARY KEY,
  node text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
