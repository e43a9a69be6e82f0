-- The enum types the design uses but never defines (design correction D8). Values can be appended later
-- with ALTER TYPE ... ADD VALUE; they are never renamed or removed, because rows keep them.

CREATE TYPE tenant_status_enum AS ENUM ('active', 'suspended', 'deleted');
-- The design's isolation tiers: shared tables with RLS, a schema per tenant, a dedicated database.
CREATE TYPE isolation_level_enum AS ENUM ('row_level', 'schema', 'database');
CREATE TYPE user_status_enum AS ENUM ('active', 'invited', 'disabled');

-- 'active' and 'training' are the hot states of the design's partial index idx_models_tenant_status.
CREATE TYPE model_status_enum AS ENUM
    ('created', 'training', 'trained', 'validating', 'staging', 'active', 'deprecated', 'archived', 'failed');
CREATE TYPE lineage_type_enum AS ENUM ('derived', 'retrained', 'ensemble');

CREATE TYPE training_status_enum AS ENUM ('pending', 'scheduled', 'running', 'completed', 'failed', 'cancelled');
CREATE TYPE experiment_status_enum AS ENUM ('pending', 'running', 'completed', 'failed', 'pruned', 'cancelled');

CREATE TYPE inference_status_enum AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');

CREATE TYPE execution_status_enum AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled', 'timed_out');

CREATE TYPE audit_event_type_enum AS ENUM
    ('authentication', 'authorization', 'tenant_management', 'user_management', 'data_access',
     'data_modification', 'configuration_change', 'model_lifecycle', 'training', 'inference',
     'agent_execution', 'compliance', 'system');
CREATE TYPE audit_result_enum AS ENUM ('success', 'failure', 'denied');
