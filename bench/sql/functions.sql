-- Deterministic building blocks of the generator, in the benchmark's own schema.
create schema if not exists bench;

-- A value in [0, modulus) drawn from a row's hash h; different salts give independent draws.
create or replace function bench.pick(h bigint, salt integer, modulus bigint)
returns bigint
language sql immutable parallel safe
as $$ select (hashint8extended(h, salt) & 9223372036854775807) % modulus $$;

-- The id of a named thing: the same md5 the Python side computes (bench/data.py).
create or replace function bench.uid(seed integer, name text)
returns uuid
language sql immutable parallel safe
as $$ select md5(seed || '/' || name)::uuid $$;

-- The id of a tenant's numbered thing ('deal', 'user', ...): bench.uid of 'kind/tenant/n'.
create or replace function bench.tenant_uid(seed integer, kind text, tenant_no integer, n bigint)
returns uuid
language sql immutable parallel safe
as $$ select bench.uid(seed, kind || '/' || tenant_no || '/' || n) $$;
