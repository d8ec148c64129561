{#- dbt's table and view materialisations swap a rebuilt model in with two renames in the
    model's transaction: the existing relation to <name>__dbt_backup, then <name>__dbt_tmp to
    <name>. ALTER TABLE ... RENAME takes ACCESS EXCLUSIVE, so while a report reads the model
    the first rename waits, and every new reader would queue behind that waiting lock (a
    convoy). Here each rename waits at most var('swap_lock_timeout_ms'); when its lock is not
    granted in time (or it is chosen as a deadlock victim), it withdraws, so nobody queues
    behind it, pauses (var('swap_first_pause_ms'), doubling up to var('swap_longest_pause_ms'))
    and tries again, until var('swap_retry_budget_s') is spent; then the model fails with a
    message that says so. Only the rename is tried again: the built __dbt_tmp table and the
    rest of the model's transaction stay as they are. Each retry is a WARNING in the server
    log; a swap that had to retry says so in dbt's output. Dispatched from dbt's
    rename_relation (dbt-adapters' global project), for every dbt invocation of the project:
    `dyno-reports build`, the Dagster dbt assets, a plain `dbt build`. -#}
{% macro postgres__rename_relation(from_relation, to_relation) -%}
    {%- set target_name = adapter.quote_as_configured(to_relation.identifier, 'identifier') -%}
    {%- set from_text = from_relation.render() | replace("'", "''") -%}
    {#- A build killed while it waits here: the backend notices within a second and ends.
        Set in a statement of its own, because the check is armed when a statement starts. -#}
    {%- call statement('rename_relation_client_check') -%}
        select set_config('client_connection_check_interval', '1000', true)
    {%- endcall -%}
    {%- call statement('rename_relation') -%}
        do $dyno_swap$
        declare
            lock_timeout_ms constant int := {{ var('swap_lock_timeout_ms') | int }};
            longest_pause_s constant float8 := {{ var('swap_longest_pause_ms') | int }} / 1000.0;
            budget constant interval := make_interval(secs => {{ var('swap_retry_budget_s') | int }});
            started constant timestamptz := clock_timestamp();
            caller_lock_timeout constant text := current_setting('lock_timeout');
            pause_s float8 := {{ var('swap_first_pause_ms') | int }} / 1000.0;
            attempts int := 0;
        begin
            loop
                attempts := attempts + 1;
                begin
                    perform set_config('lock_timeout', lock_timeout_ms::text, true);
                    alter table {{ from_relation.render() }} rename to {{ target_name }};
                    exit;
                exception when lock_not_available or deadlock_detected then
                    if clock_timestamp() + make_interval(secs => pause_s) > started + budget then
                        raise exception using
                            errcode = sqlstate,
                            message = format(
                                'swap lock timeout: %s was not renamed to %s: its lock was'
                                ' not granted within %s ms in %s attempts over %s s (a report'
                                ' or another session reads it); the build gives up',
                                '{{ from_text }}', '{{ target_name | replace("'", "''") }}',
                                lock_timeout_ms, attempts,
                                round(extract(epoch from clock_timestamp() - started)::numeric, 1)
                            ),
                            hint = 'build again when the session holding it is done';
                    end if;
                    raise warning 'dbt swap of %: % (attempt %); trying again in % s',
                        '{{ from_text }}', sqlerrm, attempts, pause_s;
                end;
                perform pg_sleep(pause_s);
                pause_s := least(pause_s * 2, longest_pause_s);
            end loop;
            perform set_config('lock_timeout', caller_lock_timeout, true);
            perform set_config('dyno.swap_attempts', attempts::text, true);
            perform set_config(
                'dyno.swap_seconds',
                round(extract(epoch from clock_timestamp() - started)::numeric, 1)::text,
                true
            );
        end
        $dyno_swap$
    {%- endcall -%}
    {%- if execute -%}
        {%- set waited = run_query(
            "select current_setting('dyno.swap_attempts')::int,"
            ~ " current_setting('dyno.swap_seconds')"
        ) -%}
        {%- if waited.rows[0][0] > 1 -%}
            {{ log(
                "swap of " ~ from_relation.schema ~ "." ~ from_relation.identifier
                ~ " retried " ~ (waited.rows[0][0] - 1) ~ " time(s): renamed to "
                ~ to_relation.identifier ~ " at attempt " ~ waited.rows[0][0] ~ ", after "
                ~ waited.rows[0][1] ~ " s (an attempt waits at most "
                ~ var('swap_lock_timeout_ms') ~ " ms for the readers of it)",
                info=True
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
