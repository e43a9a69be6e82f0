-- Training jobs as the scheduler and runners use them.
--
-- * progress (0..1) and attempt (1 + retries) are reported on the job; updated_at moves on every change, and
--   is what a runner's heartbeat refreshes.
-- * runner names who runs the job (the silo of the built-in trainer, or what an external runner said).
-- * model_name keeps the registry name next to model_id for listings (model_id stays without a foreign key,
--   as in the design).
ALTER TABLE training_jobs
    ADD COLUMN model_name varchar(255),
    ADD COLUMN progress   real        NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    ADD COLUMN attempt    integer     NOT NULL DEFAULT 1,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN runner     varchar(255);
